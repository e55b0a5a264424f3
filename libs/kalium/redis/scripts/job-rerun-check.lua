-- Where a job taken again stands (BullMQ handed it over once before: a retry, or its worker died), and
-- the workers lost so far: BullMQ's stalled count (stc: its worker stopped renewing the lock) less the
-- stalls that came before the handler started (kalium:forgiven). A take that waits before its handler
-- starts (for this check, the GPU lease, a hook) marks the hash with kalium:waiting until it starts:
-- found here, the stalls since the last check came before a handler started, and are forgiven (SPEC §17).
-- KEYS[1] the job's cancel marker
-- KEYS[2] the job's result key in the app's Store
-- KEYS[3] the job's BullMQ hash
-- ARGV[1] KALIUM_MAX_WORKER_LOSSES
-- Returns { canceled (0/1), workers lost so far, 1 when the last take was lost running the handler
-- else 0, the stored result (JSON) or nil }. Marks this take as waiting. At the limit the hash's
-- kalium:code becomes worker_lost (the job is failed).
local canceled = redis.call('EXISTS', KEYS[1])
local result = redis.call('GET', KEYS[2])
local stalls = tonumber(redis.call('HGET', KEYS[3], 'stc') or '0')
local forgiven = tonumber(redis.call('HGET', KEYS[3], 'kalium:forgiven') or '0')
local lostNow = 0
-- The stalls since the last check: with the mark still set, every one of them came before a handler
-- started (a take dead before its own check ran leaves the mark of the take before it).
local since = stalls - tonumber(redis.call('HGET', KEYS[3], 'kalium:stalls') or '0')
if since > 0 and redis.call('HEXISTS', KEYS[3], 'kalium:waiting') == 1 then
  forgiven = redis.call('HINCRBY', KEYS[3], 'kalium:forgiven', since)
elseif since > 0 then
  lostNow = 1
end
redis.call('HSET', KEYS[3], 'kalium:waiting', 1, 'kalium:stalls', stalls)
local losses = stalls - forgiven
if canceled == 0 and not result and losses >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[3], 'kalium:code', 'worker_lost')
end
return { canceled, losses, lostNow, result }
