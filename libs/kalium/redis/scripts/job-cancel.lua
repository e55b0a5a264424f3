-- Cancels a job unless it has already succeeded, and tells the workers and the watchers.
-- KEYS[1] the job's result key in the app's Store
-- KEYS[2] the job's cancel marker
-- KEYS[3] the job's BullMQ hash (<prefix>:jobs:<id>)
-- KEYS[4] the set of jobs canceled lately (scored by ms), for the counts
-- ARGV[1] the cancel record (JSON) the marker keeps
-- ARGV[2] the marker's time-to-live in seconds (RESULT_TTL)
-- ARGV[3] the channel workers listen on for cancels
-- ARGV[4] the job's notice channel (api processes watching the job listen on it)
-- ARGV[5] the job id (published to workers)
-- ARGV[6] the notice (JSON) published to watchers
-- ARGV[7] now (ms)
-- Returns 1 when canceled now, 0 when the job already has a result (it succeeded), 2 when it was
-- already canceled (nothing changes).
-- The job's hash gets the field kalium:canceled: a worker taking the job later reads it in the reply
-- that hands the job over (and fails it unrun), whatever pub/sub delivered by then.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2], 'NX') == false then
  return 2
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HSET', KEYS[3], 'kalium:canceled', 1)
end
local now = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[2]) * 1000)
redis.call('ZADD', KEYS[4], now, ARGV[5])
redis.call('PUBLISH', ARGV[3], ARGV[5])
redis.call('PUBLISH', ARGV[4], ARGV[6])
return 1
