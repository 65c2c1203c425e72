DROP TRIGGER refunds_credit_note ON refunds;
DROP FUNCTION credit_note_for_processed_refund();
DROP TRIGGER payments_receipt ON payments;
DROP FUNCTION receipt_for_completed_payment();
DROP TABLE receipts;
DROP TABLE receipt_series;
