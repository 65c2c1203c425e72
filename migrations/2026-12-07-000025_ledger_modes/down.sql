CREATE OR REPLACE FUNCTION payouts_keep_paid_out() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND OLD.amount_minor = NEW.amount_minor
            AND OLD.instructor_id = NEW.instructor_id AND OLD.currency = NEW.currency THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'paid' THEN
        UPDATE instructor_paid_out SET paid_minor = paid_minor - OLD.amount_minor
        WHERE instructor_id = OLD.instructor_id AND currency = OLD.currency;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'paid' THEN
        INSERT INTO instructor_paid_out AS k (instructor_id, currency, paid_minor)
        VALUES (NEW.instructor_id, NEW.currency, NEW.amount_minor)
        ON CONFLICT (instructor_id, currency) DO UPDATE SET paid_minor = k.paid_minor + EXCLUDED.paid_minor;
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

DELETE FROM instructor_paid_out;
ALTER TABLE instructor_paid_out DROP CONSTRAINT instructor_paid_out_pkey;
ALTER TABLE instructor_paid_out DROP COLUMN livemode;
INSERT INTO instructor_paid_out (instructor_id, currency, paid_minor)
SELECT instructor_id, currency, sum(amount_minor) FROM payouts WHERE status = 'paid' GROUP BY 1, 2;
ALTER TABLE instructor_paid_out ADD PRIMARY KEY (instructor_id, currency);

DELETE FROM ledger_balances;
ALTER TABLE ledger_balances DROP CONSTRAINT ledger_balances_pkey;
ALTER TABLE ledger_balances DROP COLUMN livemode;
INSERT INTO ledger_balances (account, currency, shard, balance_minor, updated_at)
SELECT account, currency, 0, sum(amount_minor), now() FROM ledger_entries GROUP BY 1, 2;
ALTER TABLE ledger_balances ADD PRIMARY KEY (account, currency, shard);

ALTER TABLE ledger_journals DROP CONSTRAINT ledger_journals_payout_mode_fkey;
ALTER TABLE ledger_journals DROP CONSTRAINT ledger_journals_payment_mode_fkey;
ALTER TABLE ledger_journals DROP COLUMN livemode;
ALTER TABLE coupon_redemptions DROP CONSTRAINT coupon_redemptions_payment_mode_fkey;
ALTER TABLE coupon_redemptions DROP COLUMN livemode;
ALTER TABLE payouts DROP CONSTRAINT payouts_id_livemode_key;
ALTER TABLE payouts DROP COLUMN livemode;
