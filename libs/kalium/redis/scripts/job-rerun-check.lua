-- Where a job taken again stands (BullMQ handed it over once before: a retry, or its worker died), and
-- counts a lost worker: one whose run had started the handler and never ended it.
-- KEYS[1] the job's cancel marker
-- KEYS[2] the job's result key in the app's Store
-- KEYS[3] the job's BullMQ hash
-- ARGV[1] the attempt taken now (BullMQ's attemptsStarted)
-- ARGV[2] KALIUM_MAX_WORKER_LOSSES
-- Returns { canceled (0/1), workers lost so far, 1 when a loss was counted now else 0, the stored
-- result (JSON) or nil }. At the limit the hash's kalium:code becomes worker_lost (the job is failed).
local canceled = redis.call('EXISTS', KEYS[1])
local result = redis.call('GET', KEYS[2])
local run = redis.call('HGET', KEYS[3], 'kalium:run')
local losses = tonumber(redis.call('HGET', KEYS[3], 'kalium:losses') or '0')
local lost = 0
if run and tonumber(run) < tonumber(ARGV[1]) then
  losses = redis.call('HINCRBY', KEYS[3], 'kalium:losses', 1)
  redis.call('HDEL', KEYS[3], 'kalium:run')
  lost = 1
end
if canceled == 0 and not result and losses >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[3], 'kalium:code', 'worker_lost')
end
return { canceled, losses, lost, result }
