-- Extends the GPU lease, but only for its holder.
-- KEYS[1] the lease key
-- ARGV[1] the holder's token
-- ARGV[2] the new time-to-live in ms
-- Returns 1 when renewed, 0 when the lease is gone or held by another token.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
