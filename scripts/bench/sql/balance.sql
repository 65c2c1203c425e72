-- Baseline of GET /api/payments/payouts/balance/ as an instructor: the
-- statements the server issues, in its order, captured with
-- log_statement=all. No transaction: each statement commits on its own.
-- pgbench -D (bench.py): instructor (the user id), pending, payable,
-- in_transit (the three account names) and accounts (them as a text[]).
-- 1. the currencies the instructor has balances in
SELECT DISTINCT "ledger_balances"."currency" FROM "ledger_balances" WHERE ("ledger_balances"."account" = ANY(:accounts::text[])) ORDER BY "ledger_balances"."currency";
-- 2. per currency (USD here): the three kept balances (16 shard rows each)
SELECT sum("ledger_balances"."balance_minor") FROM "ledger_balances" WHERE (("ledger_balances"."account" = :pending) AND ("ledger_balances"."currency" = 'USD')) LIMIT 1;
SELECT sum("ledger_balances"."balance_minor") FROM "ledger_balances" WHERE (("ledger_balances"."account" = :payable) AND ("ledger_balances"."currency" = 'USD')) LIMIT 1;
SELECT sum("ledger_balances"."balance_minor") FROM "ledger_balances" WHERE (("ledger_balances"."account" = :in_transit) AND ("ledger_balances"."currency" = 'USD')) LIMIT 1;
-- 3. and the paid payouts
SELECT sum("payouts"."amount_minor") FROM "payouts" WHERE ((("payouts"."instructor_id" = :instructor) AND ("payouts"."status" = 'paid')) AND ("payouts"."currency" = 'USD')) LIMIT 1;
