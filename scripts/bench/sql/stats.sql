-- Baseline of GET /api/payments/stats/?from=...&to=... (admin): the
-- statements the server issues, in its order, captured with
-- log_statement=all. No transaction: each statement commits on its own.
-- pgbench -D: from, to (the range asked, YYYY-MM-DD).
-- 1. the kept daily aggregates of the range, summed per status and method and
--    per day, settled or not, in one pass
SELECT day, status, payment_method, status IN ('completed', 'partially_refunded', 'refunded', 'disputed'), currency, sum(payments)::bigint, sum(amount_minor)::bigint, sum(discount_minor)::bigint, sum(platform_fee_minor)::bigint, sum(refunded_minor)::bigint FROM payment_stats_daily WHERE day BETWEEN :from::date AND :to::date GROUP BY GROUPING SETS ((status, payment_method, currency), (day, status IN ('completed', 'partially_refunded', 'refunded', 'disputed'), currency)) HAVING sum(payments) <> 0;
-- 2. the disputes opened in the range
SELECT currency, status = 'lost' AS lost, count(*)::bigint AS disputes, sum(amount_minor)::bigint AS amount FROM payment_disputes WHERE created_at >= :from::date AND created_at < :to::date + 1 GROUP BY currency, status = 'lost' ORDER BY currency;
