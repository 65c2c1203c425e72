DROP INDEX payments_unreleased_idx;
ALTER TABLE payments DROP COLUMN earnings_released_at;
ALTER TABLE ledger_journals DROP CONSTRAINT ledger_journals_one_subject;
DROP INDEX ledger_journals_payout_idx;
ALTER TABLE ledger_journals DROP COLUMN payout_id;
DROP INDEX payouts_created_idx;
DROP INDEX payouts_instructor_status_idx;
DROP INDEX payouts_transaction_idx;
ALTER TABLE payouts DROP COLUMN destination_key_id;
