-- Names the jobs a worker would take next from a BullMQ queue, in the order it would take them, without
-- taking them (workers take from the right end of the wait list: RPOPLPUSH in BullMQ's moveToActive).
-- KEYS[1] the queue's wait list (<prefix>:<queue>:wait)
-- ARGV[1] the prefix of the queue's job keys (<prefix>:<queue>:), to which a job id is appended
-- ARGV[2] how many jobs to look at, at most
-- Returns the names (kalium: route paths) of up to ARGV[2] next jobs, the next one first; empty when
-- nothing waits.
local ids = redis.call('LRANGE', KEYS[1], -tonumber(ARGV[2]), -1)
local names = {}
for i = #ids, 1, -1 do
  names[#names + 1] = redis.call('HGET', ARGV[1] .. ids[i], 'name') or ''
end
return names
