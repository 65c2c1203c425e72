-- Fraud controls (docs/fraud.md): rules and the block list are data that
-- admins keep, audited by the same trigger as the money objects.
CREATE TABLE fraud_rules (
    id             uuid        PRIMARY KEY,
    name           text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    subject        text        NOT NULL CHECK (subject IN ('user', 'client_address', 'email')),
    signal         text        NOT NULL CHECK (signal IN ('attempts', 'declines', 'refunds')),
    limit_count    integer     NOT NULL CHECK (limit_count BETWEEN 1 AND 100000),
    window_seconds integer     NOT NULL CHECK (window_seconds BETWEEN 1 AND 7776000),
    action         text        NOT NULL CHECK (action IN ('review', 'refuse')),
    stop_seconds   integer     CHECK (stop_seconds BETWEEN 1 AND 7776000),
    enabled        boolean     NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CHECK (stop_seconds IS NULL OR action = 'refuse'),
    CHECK (signal <> 'refunds' OR (subject = 'user' AND action = 'review'))
);

CREATE TABLE fraud_blocks (
    id            uuid        PRIMARY KEY,
    subject       text        NOT NULL CHECK (subject IN ('user', 'client_address', 'email', 'card_fingerprint')),
    value         text        NOT NULL CHECK (char_length(value) BETWEEN 1 AND 254),
    -- The range itself, so that an address is matched by the index.
    address_range inet,
    reason        text        NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    expires_at    timestamptz,
    created_by    bigint,
    rule_id       uuid,
    created_at    timestamptz NOT NULL,
    CHECK ((subject = 'client_address') = (address_range IS NOT NULL))
);
CREATE INDEX fraud_blocks_value_idx ON fraud_blocks (subject, value);
CREATE INDEX fraud_blocks_range_idx ON fraud_blocks USING gist (address_range inet_ops)
    WHERE address_range IS NOT NULL;

-- One slot per screened attempt and subject: taken before the gateway is
-- called, so attempts in flight count against a declines limit.
CREATE TABLE fraud_attempts (
    payment_id uuid        NOT NULL,
    subject    text        NOT NULL CHECK (subject IN ('user', 'client_address', 'email')),
    value      text        NOT NULL,
    state      text        NOT NULL CHECK (state IN ('in_flight', 'declined', 'done')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (payment_id, subject)
);
CREATE INDEX fraud_attempts_subject_idx ON fraud_attempts (subject, value, created_at);

-- Decisions in which a rule fired or a block matched. A refused attempt's
-- payment was never stored, so there is no foreign key.
CREATE TABLE fraud_decisions (
    id         uuid        PRIMARY KEY,
    payment_id uuid        NOT NULL,
    user_id    bigint      NOT NULL,
    outcome    text        NOT NULL CHECK (outcome IN ('allow', 'review', 'refuse')),
    fired      jsonb       NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX fraud_decisions_payment_idx ON fraud_decisions (payment_id, created_at);

CREATE TRIGGER fraud_rules_audited AFTER INSERT OR UPDATE OR DELETE ON fraud_rules
    FOR EACH ROW EXECUTE FUNCTION audit_money_change('fraud_rule');
CREATE TRIGGER fraud_blocks_audited AFTER INSERT OR UPDATE OR DELETE ON fraud_blocks
    FOR EACH ROW EXECUTE FUNCTION audit_money_change('fraud_block');

-- The review queue: a payment a rule flagged is held once paid
-- (`in_review`), its money owed to the payer (`payments_in_review`) until
-- an admin releases it as a sale or it is refunded (origin `review`).
ALTER TABLE payments ADD COLUMN fraud_review boolean NOT NULL DEFAULT false;
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN ('pending', 'processing', 'completed',
    'failed', 'cancelled', 'expired', 'partially_refunded', 'refunded', 'disputed', 'in_review'));
ALTER TABLE payments ADD CHECK (status <> 'in_review' OR (fraud_review AND completed_at IS NOT NULL));
CREATE INDEX payments_in_review_idx ON payments (created_at) WHERE status = 'in_review';
ALTER TABLE refunds DROP CONSTRAINT refunds_origin_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_origin_check CHECK (origin IN ('request', 'gateway', 'recovery', 'review'));

-- Refund abuse: a request keeps its payer's refunds and paid payments over
-- 90 days when it was made, and takes two admins when a refunds rule fired.
ALTER TABLE refunds
    ADD COLUMN payer_refunds_90d integer CHECK (payer_refunds_90d >= 0),
    ADD COLUMN payer_paid_90d    integer CHECK (payer_paid_90d >= 0),
    ADD COLUMN needs_two_admins  boolean NOT NULL DEFAULT false;

-- The gateway's risk verdict on a paid payment's charge, read with its fee;
-- a highest-risk payment or a blocked card needs an admin's attention.
-- {"level", "score", "card_fingerprint", "seller_protection"}, each null
-- when the gateway gave none.
ALTER TABLE payments ADD COLUMN risk jsonb CHECK (jsonb_typeof(risk) = 'object');
ALTER TABLE attention_items DROP CONSTRAINT attention_items_kind_check;
ALTER TABLE attention_items ADD CONSTRAINT attention_items_kind_check
    CHECK (kind IN ('paid_after_giving_up', 'paid_undeliverable_refunded', 'risky_payment'));
