-- Releases a token lock (the GPU lease, a cache entry's compute lock) by compare-and-delete, and tells
-- its waiters so that one of them takes its turn.
-- KEYS[1] the lock's key
-- KEYS[2] the channel on which releases are announced
-- ARGV[1] the holder's token
-- ARGV[2] the message waiters match on (the GPU lease: '1'; a cache entry: its value key)
-- Returns 1 when released, 0 when the lock had lapsed or belongs to another token (nothing is deleted).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], ARGV[2])
  return 1
end
return 0
