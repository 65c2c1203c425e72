-- Baseline of GET /api/payments/?limit=20 as a student (the first page of
-- their own payments, newest first): the statement the server issues,
-- captured with log_statement=all; it asks for one row more than the page
-- to know whether there is a next one.
-- Students 60000..60199 are the ones bench.py seeds for list_own.
\set uid random(60000, 60199)
SELECT "payments"."id", "payments"."user_id", "payments"."course_id", "payments"."event_id", "payments"."instructor_id", "payments"."status", "payments"."status_before_dispute", "payments"."payment_method", "payments"."provider_payment_id", "payments"."currency", "payments"."original_amount_minor", "payments"."discount_amount_minor", "payments"."amount_minor", "payments"."platform_fee_minor", "payments"."instructor_earnings_minor", "payments"."refunded_amount_minor", "payments"."coupon_id", "payments"."coupon_code", "payments"."billing", "payments"."ip_address", "payments"."user_agent", "payments"."failure_reason", "payments"."created_at", "payments"."updated_at", "payments"."completed_at"
FROM "payments" WHERE ("payments"."user_id" = :uid) ORDER BY "payments"."created_at" DESC, "payments"."id" DESC LIMIT 21;
