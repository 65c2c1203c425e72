-- Skillpay core schema. Money is always bigint minor units next to an
-- ISO-4217 currency code; every amount invariant the domain keeps is also a
-- CHECK here, so a bug cannot store a split that does not add up.

CREATE TABLE catalog_items (
    kind          text        NOT NULL CHECK (kind IN ('course', 'event')),
    item_id       bigint      NOT NULL CHECK (item_id > 0),
    title         text        NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    price_minor   bigint      NOT NULL CHECK (price_minor >= 0),
    currency      text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    instructor_id bigint      NOT NULL CHECK (instructor_id > 0),
    active        boolean     NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (kind, item_id)
);

CREATE TABLE coupons (
    id                 uuid        PRIMARY KEY,
    code               text        NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_-]{3,40}$'),
    discount_type      text        NOT NULL CHECK (discount_type IN ('percentage', 'fixed')),
    percent_off        numeric(7, 4) CHECK (percent_off > 0 AND percent_off <= 100),
    amount_off_minor   bigint      CHECK (amount_off_minor > 0),
    currency           text        CHECK (currency ~ '^[A-Z]{3}$'),
    max_discount_minor bigint      CHECK (max_discount_minor > 0),
    min_order_minor    bigint      CHECK (min_order_minor >= 0),
    max_uses           integer     CHECK (max_uses > 0),
    max_uses_per_user  integer     CHECK (max_uses_per_user > 0),
    valid_from         timestamptz,
    expires_at         timestamptz,
    course_ids         bigint[]    NOT NULL DEFAULT '{}',
    event_ids          bigint[]    NOT NULL DEFAULT '{}',
    is_active          boolean     NOT NULL DEFAULT true,
    -- Live redemptions (reserved + confirmed), kept in the same transaction
    -- as every redemption change; the CHECK makes over-use impossible.
    times_used         integer     NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CHECK (times_used >= 0 AND (max_uses IS NULL OR times_used <= max_uses)),
    CHECK ((discount_type = 'percentage' AND percent_off IS NOT NULL AND amount_off_minor IS NULL)
        OR (discount_type = 'fixed' AND amount_off_minor IS NOT NULL AND percent_off IS NULL AND currency IS NOT NULL)),
    CHECK ((max_discount_minor IS NULL AND min_order_minor IS NULL) OR currency IS NOT NULL),
    CHECK (valid_from IS NULL OR expires_at IS NULL OR expires_at > valid_from)
);
CREATE INDEX coupons_active_expires_idx ON coupons (is_active, expires_at);
CREATE INDEX coupons_created_idx ON coupons (created_at DESC, id DESC);

CREATE TABLE payments (
    id                        uuid        PRIMARY KEY,
    user_id                   bigint      NOT NULL CHECK (user_id > 0),
    course_id                 bigint,
    event_id                  bigint,
    instructor_id             bigint      NOT NULL CHECK (instructor_id > 0),
    status                    text        NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed',
                                  'cancelled', 'expired', 'partially_refunded', 'refunded', 'disputed')),
    status_before_dispute     text        CHECK (status_before_dispute IN ('completed', 'partially_refunded', 'refunded')),
    payment_method            text        NOT NULL CHECK (payment_method IN ('stripe', 'paypal', 'sandbox', 'bank_transfer', 'wallet')),
    provider_payment_id       text,
    currency                  text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    original_amount_minor     bigint      NOT NULL CHECK (original_amount_minor >= 0),
    discount_amount_minor     bigint      NOT NULL CHECK (discount_amount_minor >= 0),
    amount_minor              bigint      NOT NULL CHECK (amount_minor >= 0),
    platform_fee_minor        bigint      NOT NULL CHECK (platform_fee_minor >= 0),
    instructor_earnings_minor bigint      NOT NULL CHECK (instructor_earnings_minor >= 0),
    refunded_amount_minor     bigint      NOT NULL DEFAULT 0 CHECK (refunded_amount_minor >= 0),
    coupon_id                 uuid        REFERENCES coupons (id),
    coupon_code               text,
    billing                   jsonb       NOT NULL DEFAULT '{}',
    ip_address                inet,
    user_agent                text,
    failure_reason            text,
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL,
    completed_at              timestamptz,
    CHECK ((course_id IS NULL) <> (event_id IS NULL)),
    CHECK (original_amount_minor - discount_amount_minor = amount_minor),
    CHECK (platform_fee_minor + instructor_earnings_minor = amount_minor),
    CHECK (refunded_amount_minor <= amount_minor),
    CHECK ((status = 'disputed') = (status_before_dispute IS NOT NULL)),
    CHECK ((coupon_id IS NULL) = (coupon_code IS NULL))
);
CREATE INDEX payments_status_idx ON payments (status);
CREATE INDEX payments_instructor_idx ON payments (instructor_id, created_at DESC, id DESC);
CREATE INDEX payments_user_idx ON payments (user_id, created_at DESC, id DESC);
CREATE INDEX payments_method_idx ON payments (payment_method);
CREATE INDEX payments_created_idx ON payments (created_at DESC, id DESC);
CREATE UNIQUE INDEX payments_provider_idx ON payments (payment_method, provider_payment_id)
    WHERE provider_payment_id IS NOT NULL;

CREATE TABLE coupon_redemptions (
    id                    uuid        PRIMARY KEY,
    coupon_id             uuid        NOT NULL REFERENCES coupons (id),
    user_id               bigint      NOT NULL,
    payment_id            uuid        NOT NULL UNIQUE REFERENCES payments (id),
    discount_amount_minor bigint      NOT NULL CHECK (discount_amount_minor >= 0),
    currency              text        NOT NULL,
    status                text        NOT NULL CHECK (status IN ('reserved', 'confirmed', 'released')),
    redeemed_at           timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE INDEX coupon_redemptions_coupon_user_idx ON coupon_redemptions (coupon_id, user_id);
CREATE INDEX coupon_redemptions_user_redeemed_idx ON coupon_redemptions (user_id, redeemed_at);

CREATE TABLE refunds (
    id                 uuid        PRIMARY KEY,
    payment_id         uuid        NOT NULL REFERENCES payments (id),
    amount_minor       bigint      NOT NULL CHECK (amount_minor > 0),
    currency           text        NOT NULL,
    platform_fee_reversed_minor bigint NOT NULL DEFAULT 0 CHECK (platform_fee_reversed_minor >= 0),
    status             text        NOT NULL CHECK (status IN ('requested', 'approved', 'processing', 'processed', 'rejected', 'failed')),
    reason             text        NOT NULL,
    rejection_reason   text,
    provider_refund_id text,
    requested_by       bigint      NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    processed_at       timestamptz,
    CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL))
);
CREATE INDEX refunds_status_idx ON refunds (status);
CREATE INDEX refunds_payment_idx ON refunds (payment_id);

CREATE TABLE payouts (
    id                    uuid        PRIMARY KEY,
    instructor_id         bigint      NOT NULL,
    amount_minor          bigint      NOT NULL CHECK (amount_minor > 0),
    currency              text        NOT NULL,
    method                text        NOT NULL CHECK (method IN ('stripe_connect', 'paypal', 'bank_transfer')),
    status                text        NOT NULL CHECK (status IN ('requested', 'approved', 'processing', 'paid', 'failed', 'rejected', 'cancelled')),
    -- Destination details encrypted with SKILLPAY_ENCRYPTION_KEY; only the
    -- masked form is ever shown.
    destination_encrypted bytea       NOT NULL,
    destination_masked    text        NOT NULL,
    transaction_id        text,
    failure_reason        text,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    paid_at               timestamptz
);
CREATE INDEX payouts_instructor_created_idx ON payouts (instructor_id, created_at);
CREATE INDEX payouts_status_idx ON payouts (status);

CREATE TABLE payment_gateway_configs (
    id                    uuid        PRIMARY KEY,
    provider              text        NOT NULL UNIQUE CHECK (provider IN ('stripe', 'paypal', 'sandbox')),
    mode                  text        NOT NULL CHECK (mode IN ('test', 'live')),
    is_active             boolean     NOT NULL DEFAULT true,
    credentials_encrypted bytea,
    settings              jsonb       NOT NULL DEFAULT '{}',
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);

CREATE TABLE payment_webhook_logs (
    id               uuid        PRIMARY KEY,
    gateway          text        NOT NULL,
    event_id         text        NOT NULL,
    event_type       text        NOT NULL,
    payload          jsonb       NOT NULL,
    processed        boolean     NOT NULL DEFAULT false,
    processing_error text,
    attempts         integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    processed_at     timestamptz,
    UNIQUE (gateway, event_id)
);
CREATE INDEX payment_webhook_logs_gateway_created_idx ON payment_webhook_logs (gateway, created_at);
CREATE INDEX payment_webhook_logs_event_idx ON payment_webhook_logs (event_id);
CREATE INDEX payment_webhook_logs_processed_idx ON payment_webhook_logs (processed);

CREATE TABLE payment_disputes (
    id                  uuid        PRIMARY KEY,
    payment_id          uuid        NOT NULL REFERENCES payments (id),
    provider_dispute_id text        UNIQUE,
    amount_minor        bigint      NOT NULL CHECK (amount_minor > 0),
    currency            text        NOT NULL,
    reason              text        NOT NULL,
    status              text        NOT NULL CHECK (status IN ('needs_response', 'under_review', 'won', 'lost',
                            'warning_needs_response', 'warning_under_review', 'warning_closed', 'closed')),
    evidence_due_by     timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    resolved_at         timestamptz
);
CREATE INDEX payment_disputes_payment_idx ON payment_disputes (payment_id);
CREATE INDEX payment_disputes_status_idx ON payment_disputes (status);

-- Ledger. Entries are append-only; each journal must sum to zero (checked
-- at commit by a deferred constraint trigger).
CREATE TABLE ledger_journals (
    id         uuid        PRIMARY KEY,
    kind       text        NOT NULL,
    payment_id uuid        REFERENCES payments (id),
    currency   text        NOT NULL,
    posted_at  timestamptz NOT NULL
);
CREATE INDEX ledger_journals_payment_idx ON ledger_journals (payment_id);

CREATE TABLE ledger_entries (
    id           bigserial   PRIMARY KEY,
    journal_id   uuid        NOT NULL REFERENCES ledger_journals (id),
    account      text        NOT NULL,
    currency     text        NOT NULL,
    amount_minor bigint      NOT NULL CHECK (amount_minor <> 0)
);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account, currency, id);
CREATE INDEX ledger_entries_journal_idx ON ledger_entries (journal_id);

-- Kept balances, striped over shards so that no single row is updated by
-- every sale (the platform revenue and gateway clearing accounts would
-- otherwise serialise all completions). An account's balance is the sum of
-- its at most 16 shard rows: constant cost whatever the history.
CREATE TABLE ledger_balances (
    account       text        NOT NULL,
    currency      text        NOT NULL,
    shard         smallint    NOT NULL CHECK (shard >= 0 AND shard < 16),
    balance_minor bigint      NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (account, currency, shard)
);

CREATE FUNCTION ledger_journal_must_balance() RETURNS trigger AS $$
BEGIN
    IF (SELECT coalesce(sum(amount_minor), 0) FROM ledger_entries WHERE journal_id = NEW.journal_id) <> 0 THEN
        RAISE EXCEPTION 'ledger journal % does not balance', NEW.journal_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_entries_balanced
    AFTER INSERT ON ledger_entries DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_journal_must_balance();

CREATE FUNCTION ledger_entries_are_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only' USING ERRCODE = 'insufficient_privilege';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_entries_no_update_or_delete
    BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_are_append_only();

CREATE TABLE idempotency_keys (
    owner_id        bigint      NOT NULL,
    key             text        NOT NULL,
    fingerprint     text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('in_progress', 'completed')),
    response_status smallint,
    response_body   bytea,
    created_at      timestamptz NOT NULL,
    completed_at    timestamptz,
    PRIMARY KEY (owner_id, key),
    CHECK ((status = 'completed') = (response_status IS NOT NULL))
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE outbox_events (
    id           uuid        PRIMARY KEY,
    event_type   text        NOT NULL,
    aggregate_id text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL,
    delivered_at timestamptz,
    attempts     integer     NOT NULL DEFAULT 0
);
CREATE INDEX outbox_events_undelivered_idx ON outbox_events (created_at) WHERE delivered_at IS NULL;
CREATE INDEX outbox_events_aggregate_idx ON outbox_events (aggregate_id, created_at);
