-- Payments stuck in pending/processing are re-checked with their gateway by
-- a background job. `reconcile_after` is the job's lease: a claim moves it
-- into the future, so concurrent instances (FOR UPDATE SKIP LOCKED) never
-- check the same payment at once.
ALTER TABLE payments ADD COLUMN reconcile_after timestamptz;
CREATE INDEX payments_open_created_idx ON payments (created_at)
    WHERE status IN ('pending', 'processing');
