DROP INDEX payments_billing_email_idx;
DROP INDEX payments_coupon_code_idx;
