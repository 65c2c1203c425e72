-- Baseline of an Idempotency-Key replay of POST /api/payments/: the claim
-- finds the key taken, then the stored answer is read. bench.py stores one
-- answered key, 'replay', for each baseline user first.
\set uid random(900000, 900999)
INSERT INTO "idempotency_keys" ("owner_id", "key", "fingerprint", "status", "created_at")
VALUES (:uid, 'replay', '1ef411125320432fa7f1e8367323a0c9096b82be0d941cbd38953d64a1039683', 'in_progress', now())
ON CONFLICT DO NOTHING RETURNING "idempotency_keys"."owner_id";
SELECT "idempotency_keys"."fingerprint", "idempotency_keys"."status", "idempotency_keys"."response_status", "idempotency_keys"."response_body"
FROM "idempotency_keys" WHERE (("idempotency_keys"."owner_id" = :uid) AND ("idempotency_keys"."key" = 'replay')) LIMIT 1;
