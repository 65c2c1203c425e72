-- Test money and live money never meet in the books: every payout, coupon
-- use and ledger journal belongs to one mode, and balances are kept per
-- mode. The database refuses a mix: a journal, a coupon use or a payout
-- journal takes the mode of what it belongs to through foreign keys on
-- (id, livemode), and a journal's entries move only balances of its mode
-- (one statement writes both from the journal's row).
--
-- Rows from before: a payout's mode cannot be told from its row, and
-- payouts were only ever paid from the one balance there was; they are
-- live. Journals of payments take their payment's mode (sandbox payments
-- became test money in 000024), journals of payouts their payout's.
ALTER TABLE payouts ADD COLUMN livemode boolean NOT NULL DEFAULT true;
ALTER TABLE payouts ADD CONSTRAINT payouts_id_livemode_key UNIQUE (id, livemode);

ALTER TABLE coupon_redemptions ADD COLUMN livemode boolean;
UPDATE coupon_redemptions r SET livemode = p.livemode FROM payments p WHERE p.id = r.payment_id;
ALTER TABLE coupon_redemptions ALTER COLUMN livemode SET NOT NULL;
ALTER TABLE coupon_redemptions ALTER COLUMN livemode SET DEFAULT true;
ALTER TABLE coupon_redemptions ADD CONSTRAINT coupon_redemptions_payment_mode_fkey
    FOREIGN KEY (payment_id, livemode) REFERENCES payments (id, livemode);

ALTER TABLE ledger_journals ADD COLUMN livemode boolean;
UPDATE ledger_journals j SET livemode = p.livemode FROM payments p WHERE p.id = j.payment_id;
UPDATE ledger_journals j SET livemode = o.livemode FROM payouts o WHERE o.id = j.payout_id;
UPDATE ledger_journals SET livemode = true WHERE livemode IS NULL;
ALTER TABLE ledger_journals ALTER COLUMN livemode SET NOT NULL;
-- (A default serves journals written by hand, such as the benchmark's
-- seeds; the foreign keys still refuse one of another mode than its
-- payment or payout.)
ALTER TABLE ledger_journals ALTER COLUMN livemode SET DEFAULT true;
ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_payment_mode_fkey
    FOREIGN KEY (payment_id, livemode) REFERENCES payments (id, livemode);
ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_payout_mode_fkey
    FOREIGN KEY (payout_id, livemode) REFERENCES payouts (id, livemode);

-- Kept balances per mode, recomputed from the entries and their journals'
-- modes (one shard per key: the shards only spread concurrent writes).
ALTER TABLE ledger_balances ADD COLUMN livemode boolean NOT NULL DEFAULT true;
ALTER TABLE ledger_balances DROP CONSTRAINT ledger_balances_pkey;
DELETE FROM ledger_balances;
INSERT INTO ledger_balances (account, currency, livemode, shard, balance_minor, updated_at)
SELECT e.account, e.currency, j.livemode, 0, sum(e.amount_minor), now()
  FROM ledger_entries e JOIN ledger_journals j ON j.id = e.journal_id
 GROUP BY 1, 2, 3;
ALTER TABLE ledger_balances ADD PRIMARY KEY (account, currency, livemode, shard);

-- The amount paid out to each instructor, kept per mode too.
ALTER TABLE instructor_paid_out ADD COLUMN livemode boolean NOT NULL DEFAULT true;
ALTER TABLE instructor_paid_out DROP CONSTRAINT instructor_paid_out_pkey;
ALTER TABLE instructor_paid_out ADD PRIMARY KEY (instructor_id, currency, livemode);

CREATE OR REPLACE FUNCTION payouts_keep_paid_out() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND OLD.amount_minor = NEW.amount_minor
            AND OLD.instructor_id = NEW.instructor_id AND OLD.currency = NEW.currency
            AND OLD.livemode = NEW.livemode THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'paid' THEN
        UPDATE instructor_paid_out SET paid_minor = paid_minor - OLD.amount_minor
        WHERE instructor_id = OLD.instructor_id AND currency = OLD.currency AND livemode = OLD.livemode;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'paid' THEN
        INSERT INTO instructor_paid_out AS k (instructor_id, currency, livemode, paid_minor)
        VALUES (NEW.instructor_id, NEW.currency, NEW.livemode, NEW.amount_minor)
        ON CONFLICT (instructor_id, currency, livemode) DO UPDATE SET paid_minor = k.paid_minor + EXCLUDED.paid_minor;
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
