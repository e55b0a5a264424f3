-- A cache lookup that takes the compute lock on a miss, in one step: no one can store the value
-- between our read and our lock (which would have us compute it a second time).
-- KEYS[1] the entry's value key
-- KEYS[2] the entry's lock key
-- ARGV[1] the caller's fresh lock token
-- ARGV[2] the lock's time-to-live in ms
-- Returns { value, its PTTL in ms, 0 } on a hit; { nil, -2, 1 } when the caller took the lock;
-- { nil, -2, 0 } when another holds it.
local value = redis.call('GET', KEYS[1])
if value then
  return { value, redis.call('PTTL', KEYS[1]), 0 }
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return { false, -2, 1 }
end
return { false, -2, 0 }
