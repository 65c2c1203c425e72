-- Baseline of GET /api/payments/payouts/balance/ as an instructor: the
-- statements the server issues, in its order, captured with
-- log_statement=all. No transaction: each statement commits on its own.
-- pgbench -D (bench.py): instructor (the user id) and accounts (the names
-- of its pending, payable and in-transit accounts, as a text[]).
-- 1. the three kept balances in every currency (16 shard rows each)
SELECT "ledger_balances"."livemode", "ledger_balances"."currency", "ledger_balances"."account", sum("ledger_balances"."balance_minor") FROM "ledger_balances" WHERE ("ledger_balances"."account" = ANY(:accounts::text[])) GROUP BY "ledger_balances"."livemode", "ledger_balances"."currency", "ledger_balances"."account";
-- 2. the kept amount paid out, one row per currency
SELECT "instructor_paid_out"."currency", "instructor_paid_out"."paid_minor" FROM "instructor_paid_out" WHERE ("instructor_paid_out"."instructor_id" = :instructor);
