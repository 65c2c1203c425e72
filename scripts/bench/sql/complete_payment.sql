-- Baseline of a Stripe payment_intent.succeeded webhook: the statements the
-- server issues, in its order and with its commits, captured with
-- log_statement=all. bench.py seeds pending Stripe payments 'pi_base_<n>'
-- (even n with a reserved BENCH10 use); each transaction takes the next n
-- from a sequence, the one statement here the server does not issue.
-- pgbench -D: coupon_id (BENCH10's id).
-- pgbench reads :name as a variable even inside quotes, so literals with a
-- colon (rate-limit keys, account names, times) are built with concat_ws.
SELECT nextval('bench_complete_seq') AS n \gset
-- 1. log the event once per (gateway, event id) (own commit)
INSERT INTO "payment_webhook_logs" ("id", "gateway", "event_id", "event_type", "payload", "attempts", "created_at", "claimed_until")
VALUES (gen_random_uuid(), 'stripe', 'evt_base_' || :n::text, 'payment_intent.succeeded',
        ('{"id": "evt_base_' || :n::text || '", "data": {"object": {"id": "pi_base_' || :n::text || '", "object": "payment_intent"}}, "type": "payment_intent.succeeded", "object": "event"}')::jsonb,
        1, now(), now() + interval '30 seconds')
ON CONFLICT ("gateway", "event_id") DO NOTHING RETURNING "payment_webhook_logs"."id" \gset w_
-- 2. the payment by the gateway's id; after Stripe answers, by its own id
SELECT "payments"."id", "payments"."user_id", "payments"."course_id", "payments"."event_id", "payments"."instructor_id", "payments"."status", "payments"."status_before_dispute", "payments"."payment_method", "payments"."provider_payment_id", "payments"."currency", "payments"."original_amount_minor", "payments"."discount_amount_minor", "payments"."amount_minor", "payments"."platform_fee_minor", "payments"."instructor_earnings_minor", "payments"."refunded_amount_minor", "payments"."coupon_id", "payments"."coupon_code", "payments"."billing", "payments"."ip_address", "payments"."user_agent", "payments"."failure_reason", "payments"."created_at", "payments"."updated_at", "payments"."completed_at"
FROM "payments" WHERE (("payments"."payment_method" = 'stripe') AND ("payments"."provider_payment_id" = 'pi_base_' || :n::text)) LIMIT 1 \gset p_
-- (here the server re-reads the PaymentIntent from Stripe)
SELECT "payments"."id", "payments"."user_id", "payments"."course_id", "payments"."event_id", "payments"."instructor_id", "payments"."status", "payments"."status_before_dispute", "payments"."payment_method", "payments"."provider_payment_id", "payments"."currency", "payments"."original_amount_minor", "payments"."discount_amount_minor", "payments"."amount_minor", "payments"."platform_fee_minor", "payments"."instructor_earnings_minor", "payments"."refunded_amount_minor", "payments"."coupon_id", "payments"."coupon_code", "payments"."billing", "payments"."ip_address", "payments"."user_agent", "payments"."failure_reason", "payments"."created_at", "payments"."updated_at", "payments"."completed_at"
FROM "payments" WHERE ("payments"."id" = :p_id) LIMIT 1;
-- 3. completion: guarded status change, coupon use confirmed, sale journal
-- with its three entries and kept balances in one statement, outbox event
-- (one transaction)
\set shard :n % 16
BEGIN;
\if :n % 2 = 0
SELECT c.id FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id
 WHERE r.payment_id = :p_id AND r.status = 'reserved'
   AND (c.max_uses IS NOT NULL OR (false AND r.use_shard IS NULL))
   FOR UPDATE OF c;
\endif
UPDATE "payments" SET "status" = 'completed', "status_before_dispute" = NULL, "updated_at" = now(), "completed_at" = now(), "failure_reason" = NULL
WHERE (("payments"."id" = :p_id) AND ("payments"."status" = 'pending'))
RETURNING "payments"."id", "payments"."user_id", "payments"."course_id", "payments"."event_id", "payments"."instructor_id", "payments"."status", "payments"."status_before_dispute", "payments"."payment_method", "payments"."provider_payment_id", "payments"."currency", "payments"."original_amount_minor", "payments"."discount_amount_minor", "payments"."amount_minor", "payments"."platform_fee_minor", "payments"."instructor_earnings_minor", "payments"."refunded_amount_minor", "payments"."coupon_id", "payments"."coupon_code", "payments"."billing", "payments"."ip_address", "payments"."user_agent", "payments"."failure_reason", "payments"."created_at", "payments"."updated_at", "payments"."completed_at";
\if :n % 2 = 0
WITH confirmed AS (
    UPDATE coupon_redemptions SET status = 'confirmed', updated_at = now()
     WHERE payment_id = :p_id AND status = 'reserved'
    RETURNING coupon_id
)
UPDATE coupons SET updated_at = now() FROM confirmed
 WHERE coupons.id = confirmed.coupon_id AND coupons.max_uses IS NOT NULL
RETURNING coupons.id, coupons.code, coupons.max_uses;
\endif
WITH journal AS (
    INSERT INTO ledger_journals (id, kind, payment_id, payout_id, currency, posted_at)
    VALUES (md5('journal-' || :p_id::text)::uuid, 'sale', :p_id, NULL, 'USD', now())
    RETURNING id
), entries AS (
    INSERT INTO ledger_entries (journal_id, account, currency, amount_minor)
    SELECT journal.id, e.account, 'USD', e.amount_minor
      FROM journal, unnest(ARRAY[concat_ws(':', 'gateway_clearing', 'stripe'), concat_ws(':', 'instructor_pending', :p_instructor_id::bigint), 'platform_revenue'],
                           ARRAY[:p_amount_minor::bigint, -(:p_instructor_earnings_minor::bigint), -(:p_platform_fee_minor::bigint)])
           WITH ORDINALITY AS e (account, amount_minor, n)
     ORDER BY e.n
)
INSERT INTO ledger_balances AS b (account, currency, shard, balance_minor, updated_at)
SELECT t.account, 'USD', :shard, t.delta, now()
  FROM unnest(ARRAY[concat_ws(':', 'gateway_clearing', 'stripe'), concat_ws(':', 'instructor_pending', :p_instructor_id::bigint), 'platform_revenue'],
              ARRAY[:p_amount_minor::bigint, -(:p_instructor_earnings_minor::bigint), -(:p_platform_fee_minor::bigint)])
       WITH ORDINALITY AS t (account, delta, n)
 ORDER BY t.n
ON CONFLICT (account, currency, livemode, shard) DO UPDATE
   SET balance_minor = b.balance_minor + EXCLUDED.balance_minor, updated_at = EXCLUDED.updated_at
RETURNING b.balance_minor;
INSERT INTO "outbox_events" ("id", "event_type", "aggregate_id", "payload", "created_at")
VALUES (gen_random_uuid(), 'payment.completed', 'pay_' || replace(:p_id::text, '-', ''),
        jsonb_build_object('id', 'pay_' || replace(:p_id::text, '-', ''), 'amount', '26.10', 'status', 'completed', 'user_id', :p_user_id::bigint,
            'currency', 'USD', 'event_id', NULL, 'course_id', :p_course_id::bigint, 'created_at', now(), 'coupon_code', 'BENCH10',
            'completed_at', now(), 'instructor_id', :p_instructor_id::bigint, 'platform_fee', '5.22', 'discount_amount', '2.90',
            'original_amount', '29.00', 'payment_method', 'stripe', 'instructor_earnings', '20.88'),
        now()) RETURNING "outbox_events"."id";
-- the attempt's fraud slots settled (none for the seeded payments)
UPDATE "fraud_attempts" SET "state" = 'done' WHERE (("fraud_attempts"."payment_id" = :p_id) AND ("fraud_attempts"."state" = 'in_flight'));
COMMIT;
-- 4. the log row marked processed (own commit)
UPDATE "payment_webhook_logs" SET "processed" = true, "processed_at" = now(), "processing_error" = NULL, "claimed_until" = NULL WHERE ("payment_webhook_logs"."id" = :w_id) RETURNING "payment_webhook_logs"."id";
