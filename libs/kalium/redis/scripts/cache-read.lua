-- Reads a cache entry with its time left, and whether someone holds the key's compute lock.
-- KEYS[1] the entry's value key
-- KEYS[2] the entry's lock key
-- Returns { value or nil, the value's PTTL in ms (-2 when missing), 1 when the lock is held else 0 }.
return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]), redis.call('EXISTS', KEYS[2]) }
