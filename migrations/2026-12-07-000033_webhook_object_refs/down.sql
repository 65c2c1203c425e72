DROP INDEX payment_webhook_logs_object_refs_idx;
ALTER TABLE payment_webhook_logs DROP COLUMN object_refs;
