-- Appends one chunk of a streaming job's output and tells the job's watchers.
-- KEYS[1] the job's output stream
-- ARGV[1] the chunk's index in its run (0 for the first chunk of a run: what an earlier run streamed is
--         dropped, so the stream holds one run's output)
-- ARGV[2] the chunk (JSON)
-- ARGV[3] the stream's time-to-live in seconds (RESULT_TTL: it expires with the job)
-- ARGV[4] the job's notice channel
-- ARGV[5] the notice (JSON) to publish
-- ARGV[6] the run's attempt (BullMQ's attemptsStarted): entry ids are <attempt>-<index + 1>, so a reader
--         that saw an earlier run's chunks reads the next run's from its first, after them
-- Returns the stream's length.
local index = tonumber(ARGV[1])
if index == 0 then
  redis.call('DEL', KEYS[1])
end
redis.call('XADD', KEYS[1], ARGV[6] .. '-' .. (index + 1), 'c', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return redis.call('XLEN', KEYS[1])
