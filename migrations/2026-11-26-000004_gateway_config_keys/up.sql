-- Gateway configurations per provider and mode, credentials sealed with
-- AES-256-GCM; `key_id` names the key that sealed them, so keys can rotate.
ALTER TABLE payment_gateway_configs ADD COLUMN key_id text;
ALTER TABLE payment_gateway_configs DROP CONSTRAINT payment_gateway_configs_provider_key;
ALTER TABLE payment_gateway_configs ADD CONSTRAINT payment_gateway_configs_provider_mode_key UNIQUE (provider, mode);
-- At most one active configuration per provider.
CREATE UNIQUE INDEX payment_gateway_configs_one_active_idx ON payment_gateway_configs (provider) WHERE is_active;
ALTER TABLE payment_gateway_configs ADD CONSTRAINT payment_gateway_configs_sealed_with_key
    CHECK ((credentials_encrypted IS NULL) = (key_id IS NULL));
