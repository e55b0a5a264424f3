-- Names the jobs a worker would take next from a BullMQ queue, in the order it would take them, without
-- taking them. BullMQ's moveToActive takes from the right end of the wait list first, then the lowest
-- score of the prioritized set (kalium queues every job with a priority: SPEC §14).
-- KEYS[1] the queue's wait list (<prefix>:<queue>:wait)
-- KEYS[2] the queue's prioritized set (<prefix>:<queue>:prioritized)
-- ARGV[1] the prefix of the queue's job keys (<prefix>:<queue>:), to which a job id is appended
-- ARGV[2] how many jobs to look at, at most
-- Returns the names (kalium: route paths) of up to ARGV[2] next jobs, the next one first; empty when
-- nothing waits.
local wanted = tonumber(ARGV[2])
local ids = redis.call('LRANGE', KEYS[1], -wanted, -1)
local names = {}
for i = #ids, 1, -1 do
  names[#names + 1] = redis.call('HGET', ARGV[1] .. ids[i], 'name') or ''
end
if #names < wanted then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, wanted - #names - 1)) do
    names[#names + 1] = redis.call('HGET', ARGV[1] .. id, 'name') or ''
  end
end
return names
