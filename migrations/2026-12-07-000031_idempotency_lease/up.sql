-- The end of an idempotency claim's lease. The request holding the claim
-- renews it while it runs, so a claim lapses (and a retry may take the key
-- over) only when its request died, however long a live one takes.
-- created_at keeps counting the key's retention.
-- The default (now() is stable: no table rewrite) gives claims in flight
-- the 60 s lease they were taken under, and so do claims taken by
-- instances not yet upgraded, which do not name the column.
ALTER TABLE idempotency_keys
    ADD COLUMN lease_until timestamptz NOT NULL DEFAULT now() + interval '60 seconds';
