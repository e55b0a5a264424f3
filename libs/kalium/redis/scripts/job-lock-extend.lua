-- Extends a worker's lock on a running BullMQ job, and takes the job off the stalled list. BullMQ's own
-- extendLock does this, but only from its worker's event loop; kalium renews from a thread of its own
-- (see lock-keeper.ts), which cannot use BullMQ's API, so this is the one BullMQ-shaped script kept.
-- KEYS[1] the job's lock key (<prefix>:<queue>:<job id>:lock)
-- KEYS[2] the queue's stalled set (<prefix>:<queue>:stalled)
-- ARGV[1] the worker's lock token for the job
-- ARGV[2] the lock's new time-to-live in ms
-- ARGV[3] the job id
-- Returns 1 when extended, 0 when the lock is gone or belongs to another token (nothing changes).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SREM', KEYS[2], ARGV[3])
  return 1
end
return 0
