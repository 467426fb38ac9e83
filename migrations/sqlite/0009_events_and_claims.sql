-- Outbox claims: each consumer claims a batch of events for a while (a lease)
-- before handling them, so one process handles each event once. SQLite runs
-- one process, but takes the same code path; a lease that lapses (the
-- claimant died mid-batch) lets the events be claimed again.
ALTER TABLE outbox ADD COLUMN fulfil_claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN fulfil_claimed_until INTEGER;
ALTER TABLE outbox ADD COLUMN notify_claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN notify_claimed_until INTEGER;
ALTER TABLE outbox ADD COLUMN audit_claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN audit_claimed_until INTEGER;
ALTER TABLE outbox ADD COLUMN relay_claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN relay_claimed_until INTEGER;
