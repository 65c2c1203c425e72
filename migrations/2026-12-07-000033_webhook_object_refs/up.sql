-- The gateway object ids a webhook names (string values of `id`, `*_id`
-- and Stripe's object references, at any depth), indexed, so an object's
-- history finds its webhooks without scanning every payload's text.
ALTER TABLE payment_webhook_logs ADD COLUMN object_refs TEXT[] NOT NULL DEFAULT '{}';
UPDATE payment_webhook_logs SET object_refs = ARRAY(
    SELECT DISTINCT kv ->> 'value'
      FROM jsonb_path_query(
               payload,
               'strict $.** ? (@.type() == "object").keyvalue() ? (@.value.type() == "string" && @.key like_regex "^(id|[a-z_]+_id|payment_intent|charge|payout|transfer|refund|dispute|source|balance_transaction|parent_payment)$")'
           ) AS kv);
CREATE INDEX payment_webhook_logs_object_refs_idx ON payment_webhook_logs USING GIN (object_refs);
