-- Held payments and review refunds have no status or origin before this
-- migration: refuse to revert over them rather than lose what they mean.
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM payments WHERE status = 'in_review' OR fraud_review)
       OR EXISTS (SELECT 1 FROM refunds WHERE origin = 'review') THEN
        RAISE EXCEPTION 'payments held for review exist; release or refund them first';
    END IF;
END $$;
DELETE FROM attention_items WHERE kind = 'risky_payment';
ALTER TABLE attention_items DROP CONSTRAINT attention_items_kind_check;
ALTER TABLE attention_items ADD CONSTRAINT attention_items_kind_check
    CHECK (kind IN ('paid_after_giving_up', 'paid_undeliverable_refunded'));
ALTER TABLE payments DROP COLUMN risk;
ALTER TABLE refunds DROP COLUMN payer_refunds_90d, DROP COLUMN payer_paid_90d, DROP COLUMN needs_two_admins;
ALTER TABLE refunds DROP CONSTRAINT refunds_origin_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_origin_check CHECK (origin IN ('request', 'gateway', 'recovery'));
DROP INDEX payments_in_review_idx;
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN ('pending', 'processing', 'completed',
    'failed', 'cancelled', 'expired', 'partially_refunded', 'refunded', 'disputed'));
ALTER TABLE payments DROP COLUMN fraud_review;
DROP TABLE fraud_decisions;
DROP TABLE fraud_attempts;
DROP TABLE fraud_blocks;
DROP TABLE fraud_rules;
