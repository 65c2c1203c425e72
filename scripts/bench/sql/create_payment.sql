-- Baseline of POST /api/payments/ (sandbox, no coupon): the statements the
-- server issues, in its order and with its commits, captured with
-- log_statement=all. Values the server computes in Rust (ids, fee split,
-- the stored answer) are computed here by pgbench or in the statement.
-- pgbench -D: courses (course ids 1..courses). Users 900000..900999 are
-- baseline-only, so checks can tell baseline rows from API rows.
-- pgbench reads :name as a variable even inside quotes, so literals with a
-- colon (rate-limit keys, account names, times) are built with concat_ws.
\set uid random(900000, 900999)
\set course random(1, :courses)
\set key random(1, 9000000000000000000)
-- 1. claim the Idempotency-Key (own commit)
INSERT INTO "idempotency_keys" ("owner_id", "key", "fingerprint", "status", "created_at")
VALUES (:uid, 'base-' || :key::text, '1ef411125320432fa7f1e8367323a0c9096b82be0d941cbd38953d64a1039683', 'in_progress', now())
ON CONFLICT DO NOTHING RETURNING "idempotency_keys"."owner_id";
-- 2. and 3. rate limits per user, then per client address (one statement)
INSERT INTO "rate_limit_counters" ("key", "window_start", "hits")
VALUES (concat_ws(':', 'create_payment', 'user', :uid::bigint), date_trunc('minute', now()), 1),
       (concat_ws(':', 'create_payment', 'ip', '127.0.0.1'), date_trunc('minute', now()), 1)
ON CONFLICT ("key", "window_start") DO UPDATE SET "hits" = ("rate_limit_counters"."hits" + excluded."hits") RETURNING "rate_limit_counters"."key", "rate_limit_counters"."hits";
-- 4. the catalog price
SELECT "catalog_items"."kind", "catalog_items"."item_id", "catalog_items"."title", "catalog_items"."price_minor", "catalog_items"."currency", "catalog_items"."instructor_id", "catalog_items"."active", "catalog_items"."updated_at"
FROM "catalog_items" WHERE (("catalog_items"."kind" = 'course') AND ("catalog_items"."item_id" = :course)) LIMIT 1 \gset c_
\set fee (:c_price_minor * 20 + 50) / 100
\set earnings :c_price_minor - :fee
-- 4c. fraud screening (one transaction): a lock per subject (user, then
-- client address), the live blocks matching them, the enabled attempts and declines rules
-- (the bench has none, so no counts are read), the attempt's slots
BEGIN;
SELECT pg_advisory_xact_lock(hashtextextended(concat_ws(':', 'fraud', 'user', :uid::bigint), 0));
SELECT pg_advisory_xact_lock(hashtextextended(concat_ws(':', 'fraud', 'client_address', '127.0.0.1'), 0));
SELECT id, subject, value, reason, expires_at, created_by, rule_id, created_at
FROM fraud_blocks
WHERE (expires_at IS NULL OR expires_at > now())
  AND ((subject, value) IN (SELECT * FROM unnest(ARRAY['user', 'client_address'], ARRAY[:uid::text, '127.0.0.1']))
       OR (address_range IS NOT NULL AND '127.0.0.1'::inet <<= address_range));
SELECT "fraud_rules"."id", "fraud_rules"."name", "fraud_rules"."subject", "fraud_rules"."signal", "fraud_rules"."limit_count", "fraud_rules"."window_seconds", "fraud_rules"."action", "fraud_rules"."stop_seconds", "fraud_rules"."enabled", "fraud_rules"."created_at", "fraud_rules"."updated_at"
FROM "fraud_rules" WHERE ("fraud_rules"."enabled" = true) AND ("fraud_rules"."signal" = ANY(ARRAY['attempts', 'declines']))
ORDER BY "fraud_rules"."created_at", "fraud_rules"."id";
INSERT INTO "fraud_attempts" ("payment_id", "subject", "value", "state", "created_at")
VALUES (gen_random_uuid(), 'user', :uid::text, 'in_flight', now()), (gen_random_uuid(), 'client_address', '127.0.0.1', 'in_flight', now());
COMMIT;
-- 5. the payment (one statement: nothing else commits with it)
INSERT INTO "payments" ("id", "user_id", "course_id", "event_id", "instructor_id", "status", "status_before_dispute", "payment_method", "provider_payment_id", "currency", "original_amount_minor", "discount_amount_minor", "amount_minor", "platform_fee_minor", "instructor_earnings_minor", "refunded_amount_minor", "coupon_id", "coupon_code", "billing", "ip_address", "user_agent", "failure_reason", "created_at", "updated_at", "completed_at")
VALUES (gen_random_uuid(), :uid, :course, DEFAULT, :c_instructor_id, 'pending', DEFAULT, 'sandbox', DEFAULT, 'USD', :c_price_minor, 0, :c_price_minor, :fee, :earnings, 0, DEFAULT, DEFAULT,
        '{"city": null, "name": null, "email": null, "address": null, "country": null, "postal_code": null}', '127.0.0.1', 'wrk/4.1.0', DEFAULT, now(), now(), DEFAULT)
RETURNING "payments"."id", "payments"."user_id", "payments"."course_id", "payments"."event_id", "payments"."instructor_id", "payments"."status", "payments"."status_before_dispute", "payments"."payment_method", "payments"."provider_payment_id", "payments"."currency", "payments"."original_amount_minor", "payments"."discount_amount_minor", "payments"."amount_minor", "payments"."platform_fee_minor", "payments"."instructor_earnings_minor", "payments"."refunded_amount_minor", "payments"."coupon_id", "payments"."coupon_code", "payments"."billing", "payments"."ip_address", "payments"."user_agent", "payments"."failure_reason", "payments"."created_at", "payments"."updated_at", "payments"."completed_at" \gset p_
-- 6. the gateway's id (sandbox: made locally), own commit
UPDATE "payments" SET "provider_payment_id" = 'sbx_' || replace(:p_id::text, '-', ''), "updated_at" = now() WHERE ("payments"."id" = :p_id) RETURNING "payments"."id";
-- 7. the answer stored with the key (~900 bytes, as the server stores)
UPDATE "idempotency_keys" SET "status" = 'completed', "response_status" = 201, "response_body" = convert_to(repeat('x', 900), 'UTF8'), "completed_at" = now()
WHERE (("idempotency_keys"."owner_id" = :uid) AND ("idempotency_keys"."key" = 'base-' || :key::text)) RETURNING "idempotency_keys"."owner_id";
