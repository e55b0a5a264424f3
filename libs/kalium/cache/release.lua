-- Releases a compute lock without a value (the answer was not storable or the computation failed),
-- by compare-and-delete, and tells waiters so that one of them takes its turn.
-- KEYS[1] the entry's lock key
-- KEYS[2] the channel on which fills and releases are announced
-- ARGV[1] the holder's token
-- ARGV[2] the entry's value key (the message waiters match on)
-- Returns 1 when released, 0 when the lock had lapsed or belongs to another token (nothing is deleted).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], ARGV[2])
  return 1
end
return 0
