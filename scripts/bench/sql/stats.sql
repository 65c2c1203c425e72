-- Baseline of GET /api/payments/stats/?from=...&to=... (admin): the
-- statements the server issues, in its order, captured with
-- log_statement=all. No transaction: each statement commits on its own.
-- pgbench -D: from, to (the range asked, YYYY-MM-DD).
-- 1. the kept daily aggregates of the range (8 shard rows per key)
SELECT day, status, payment_method, currency, sum(payments)::bigint AS payments, sum(amount_minor)::bigint AS amount, sum(discount_minor)::bigint AS discount, sum(platform_fee_minor)::bigint AS fee, sum(earnings_minor)::bigint AS earnings, sum(refunded_minor)::bigint AS refunded FROM payment_stats_daily WHERE day BETWEEN :from::date AND :to::date GROUP BY day, status, payment_method, currency HAVING sum(payments) <> 0 ORDER BY day, status, payment_method, currency;
-- 2. the disputes opened in the range
SELECT currency, status = 'lost' AS lost, count(*)::bigint AS disputes, sum(amount_minor)::bigint AS amount FROM payment_disputes WHERE created_at >= :from::date AND created_at < :to::date + 1 GROUP BY currency, status = 'lost' ORDER BY currency;
