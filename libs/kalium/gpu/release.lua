-- Releases the GPU lease by compare-and-delete, and announces the release to waiters.
-- KEYS[1] the lease key
-- KEYS[2] the channel on which releases are published
-- ARGV[1] the holder's token
-- Returns 1 when released, 0 when the lease had lapsed or belonged to another token (nothing is deleted).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], '1')
  return 1
end
return 0
