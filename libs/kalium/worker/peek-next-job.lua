-- Names the job a worker would take next from a BullMQ queue, without taking it (workers take from the
-- right end of the wait list: RPOPLPUSH in BullMQ's moveToActive).
-- KEYS[1] the queue's wait list (<prefix>:<queue>:wait)
-- ARGV[1] the prefix of the queue's job keys (<prefix>:<queue>:), to which a job id is appended
-- Returns the next job's name (kalium: its route path), or false when nothing waits.
local id = redis.call('LINDEX', KEYS[1], -1)
if not id then
  return false
end
return redis.call('HGET', ARGV[1] .. id, 'name')
