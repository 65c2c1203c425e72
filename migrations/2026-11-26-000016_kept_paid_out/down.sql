DROP TRIGGER payouts_keep_paid_out ON payouts;
DROP FUNCTION payouts_keep_paid_out();
DROP TABLE instructor_paid_out;
