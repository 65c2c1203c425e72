-- Baseline of GET /api/payments/stats/?from=...&to=... (admin): the
-- statement the server issues, captured with log_statement=all. No
-- transaction: it commits on its own.
-- pgbench -D: from, to (the range asked, YYYY-MM-DD). The seeded payments
-- are live money: the request asks for livemode=true.
-- The kept daily aggregates of the range, summed per status and method and
-- per day, settled or not, in one pass; then the disputes opened in the range.
SELECT day, status, payment_method, status IN ('completed', 'partially_refunded', 'refunded', 'disputed'), currency, sum(payments)::bigint, sum(amount_minor)::bigint, sum(discount_minor)::bigint, sum(platform_fee_minor)::bigint, sum(refunded_minor)::bigint, sum(refunded_fee_minor)::bigint, sum(gateway_fee_minor)::bigint, sum(platform_gateway_fee_minor)::bigint FROM payment_stats_daily WHERE livemode = true AND day BETWEEN :from::date AND :to::date GROUP BY GROUPING SETS ((status, payment_method, currency), (day, status IN ('completed', 'partially_refunded', 'refunded', 'disputed'), currency)) HAVING sum(payments) <> 0 OR sum(refunded_fee_minor) <> 0 UNION ALL SELECT NULL, NULL, NULL, status = 'lost', currency, count(*), sum(amount_minor)::bigint, 0, 0, 0, 0, 0, 0 FROM payment_disputes WHERE livemode = true AND created_at >= :from::date AND created_at < :to::date + 1 GROUP BY currency, status = 'lost';
