DROP INDEX payments_open_created_idx;
ALTER TABLE payments DROP COLUMN reconcile_after;
