DROP INDEX refunds_fee_unread_idx;
ALTER TABLE refunds DROP COLUMN fee_read_after;
ALTER TABLE refunds DROP COLUMN gateway_fee_returned_minor;
