-- Payouts: the key id that sealed a destination (for rotation), gateway ids
-- unique per method, and a journal's link to its payout.
ALTER TABLE payouts ADD COLUMN destination_key_id text NOT NULL DEFAULT '';
ALTER TABLE payouts ALTER COLUMN destination_key_id DROP DEFAULT;
CREATE UNIQUE INDEX payouts_transaction_idx ON payouts (method, transaction_id) WHERE transaction_id IS NOT NULL;
CREATE INDEX payouts_instructor_status_idx ON payouts (instructor_id, status, currency);
CREATE INDEX payouts_created_idx ON payouts (created_at, id);

ALTER TABLE ledger_journals ADD COLUMN payout_id uuid REFERENCES payouts (id);
CREATE INDEX ledger_journals_payout_idx ON ledger_journals (payout_id) WHERE payout_id IS NOT NULL;
ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_one_subject
    CHECK (payment_id IS NULL OR payout_id IS NULL);

-- Sale earnings are pending until the hold period ends; the release job
-- moves them to available and stamps the payment. Sales made before this
-- migration credited the available balance directly: they count as released.
ALTER TABLE payments ADD COLUMN earnings_released_at timestamptz;
UPDATE payments SET earnings_released_at = completed_at WHERE completed_at IS NOT NULL;
CREATE INDEX payments_unreleased_idx ON payments (completed_at)
    WHERE earnings_released_at IS NULL AND completed_at IS NOT NULL AND instructor_earnings_minor > 0;
