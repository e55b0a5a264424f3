-- Stores a computed value, releases the compute lock if the caller still holds it, then tells waiters.
-- One script, so a waiter can never see the lock gone before the value is there.
-- KEYS[1] the entry's value key
-- KEYS[2] the entry's lock key
-- KEYS[3] the channel on which fills are announced
-- ARGV[1] the value
-- ARGV[2] its time-to-live in ms
-- ARGV[3] the caller's lock token ('' when it computed without the lock)
-- Returns 1 when the caller's lock was released, 0 when it held none (lapsed, another's, or '').
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local released = 0
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('DEL', KEYS[2])
  released = 1
end
redis.call('PUBLISH', KEYS[3], KEYS[1])
return released
