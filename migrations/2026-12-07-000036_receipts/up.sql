-- Receipts and credit notes (docs/receipts.md): a row is written, without
-- a number, in the transaction that completes a payment or processes a
-- refund; the numbering step gives it the next number of its series.

CREATE TABLE receipt_series (
    series      text   PRIMARY KEY,
    last_number bigint NOT NULL CHECK (last_number >= 0)
);

CREATE TABLE receipts (
    id         uuid        PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('receipt', 'credit_note')),
    payment_id uuid        NOT NULL REFERENCES payments (id),
    refund_id  uuid        UNIQUE REFERENCES refunds (id),
    livemode   boolean     NOT NULL,
    -- When the sale or refund happened: numbering follows it.
    created_at timestamptz NOT NULL,
    series     text        REFERENCES receipt_series (series),
    sequence   bigint      CHECK (sequence > 0),
    number     text        UNIQUE,
    issued_at  timestamptz,
    -- Made for a sale or refund from before receipts existed: numbered
    -- like the others, but announced to nobody (no event, no e-mail).
    quiet      boolean     NOT NULL DEFAULT false,
    CHECK ((kind = 'receipt') = (refund_id IS NULL)),
    CHECK ((number IS NULL) = (series IS NULL) AND (number IS NULL) = (sequence IS NULL)
           AND (number IS NULL) = (issued_at IS NULL)),
    UNIQUE (series, sequence)
);
CREATE UNIQUE INDEX receipts_one_per_payment_idx ON receipts (payment_id) WHERE kind = 'receipt';
CREATE INDEX receipts_payment_idx ON receipts (payment_id);
CREATE INDEX receipts_unnumbered_idx ON receipts (kind, created_at, id) WHERE number IS NULL;

-- Every payment that becomes completed (paid, or released from review)
-- gets its receipt in the same transaction, whichever path completed it.
CREATE FUNCTION receipt_for_completed_payment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'completed' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'completed') THEN
        INSERT INTO receipts (id, kind, payment_id, livemode, created_at)
        VALUES (gen_random_uuid(), 'receipt', NEW.id, NEW.livemode, coalesce(NEW.completed_at, NEW.updated_at))
        ON CONFLICT (payment_id) WHERE kind = 'receipt' DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER payments_receipt AFTER INSERT OR UPDATE OF status ON payments
    FOR EACH ROW EXECUTE FUNCTION receipt_for_completed_payment();

-- Every processed refund of a payment with a receipt gets a credit note.
CREATE FUNCTION credit_note_for_processed_refund() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'processed' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'processed')
       AND EXISTS (SELECT 1 FROM receipts WHERE payment_id = NEW.payment_id AND kind = 'receipt') THEN
        INSERT INTO receipts (id, kind, payment_id, refund_id, livemode, created_at)
        VALUES (gen_random_uuid(), 'credit_note', NEW.payment_id, NEW.id, NEW.livemode,
                coalesce(NEW.processed_at, NEW.updated_at))
        ON CONFLICT (refund_id) DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER refunds_credit_note AFTER INSERT OR UPDATE OF status ON refunds
    FOR EACH ROW EXECUTE FUNCTION credit_note_for_processed_refund();

-- Sales and refunds from before receipts existed get theirs too, numbered
-- in their order by the first numbering steps, quietly: buyers are not
-- written to about old purchases at the upgrade.
INSERT INTO receipts (id, kind, payment_id, livemode, created_at, quiet)
SELECT gen_random_uuid(), 'receipt', id, livemode, completed_at, true
FROM payments
WHERE completed_at IS NOT NULL AND status IN ('completed', 'partially_refunded', 'refunded', 'disputed');
INSERT INTO receipts (id, kind, payment_id, refund_id, livemode, created_at, quiet)
SELECT gen_random_uuid(), 'credit_note', f.payment_id, f.id, f.livemode, coalesce(f.processed_at, f.updated_at), true
FROM refunds f
WHERE f.status = 'processed' AND EXISTS (SELECT 1 FROM receipts r WHERE r.payment_id = f.payment_id);
