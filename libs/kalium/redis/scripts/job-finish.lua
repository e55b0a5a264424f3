-- Stores a job's result once, unless the job was canceled, and tells the watchers it succeeded.
-- KEYS[1] the job's cancel marker
-- KEYS[2] the job's result key in the app's Store
-- ARGV[1] the result (JSON)
-- ARGV[2] its time-to-live in seconds (RESULT_TTL)
-- ARGV[3] the job's notice channel (api processes watching the job listen on it)
-- ARGV[4] the notice (JSON) to publish once the result is stored
-- Returns 1 when stored, 0 when a result was already there (an earlier run of the job stored it and is
-- kept), -1 when the job was canceled (nothing is stored).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end
if redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2], 'NX') then
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return 1
end
return 0
