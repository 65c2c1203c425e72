-- What a person must look at (domain::attention): written in the
-- transaction of the change it reports, open until an admin resolves it.
CREATE TABLE attention_items (
    id          uuid        PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('paid_after_giving_up', 'paid_undeliverable_refunded')),
    payment_id  uuid        NOT NULL REFERENCES payments (id),
    detail      text        NOT NULL,
    created_at  timestamptz NOT NULL,
    resolved_at timestamptz,
    resolved_by bigint,
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL))
);
CREATE INDEX attention_items_open_idx ON attention_items (created_at) WHERE resolved_at IS NULL;
CREATE INDEX attention_items_payment_idx ON attention_items (payment_id);

-- The sweep re-checks gateway payments given up in the last days: paid
-- after all? (`reconcile_after` is when the next check is due.)
CREATE INDEX payments_given_up_idx ON payments (updated_at)
    WHERE status IN ('failed', 'cancelled', 'expired') AND provider_payment_id IS NOT NULL;
