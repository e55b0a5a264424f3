-- Cancels a job unless it has already succeeded, and tells the workers and the watchers.
-- KEYS[1] the job's result key in the app's Store
-- KEYS[2] the job's cancel marker
-- ARGV[1] the cancel record (JSON) the marker keeps
-- ARGV[2] the marker's time-to-live in seconds (RESULT_TTL)
-- ARGV[3] the channel workers listen on for cancels
-- ARGV[4] the job's notice channel (api processes watching the job listen on it)
-- ARGV[5] the job id (published to workers)
-- ARGV[6] the notice (JSON) published to watchers
-- Returns 1 when canceled now, 0 when the job already has a result (it succeeded), 2 when it was
-- already canceled (nothing changes).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2], 'NX') == false then
  return 2
end
redis.call('PUBLISH', ARGV[3], ARGV[5])
redis.call('PUBLISH', ARGV[4], ARGV[6])
return 1
