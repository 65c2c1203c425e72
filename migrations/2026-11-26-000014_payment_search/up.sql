-- Console search of payments by coupon code and by receipt e-mail. Partial
-- indexes: only payments that have a coupon or an e-mail pay for them.
CREATE INDEX payments_coupon_code_idx ON payments (coupon_code, created_at DESC, id DESC)
    WHERE coupon_code IS NOT NULL;
CREATE INDEX payments_billing_email_idx ON payments (lower(billing ->> 'email'), created_at DESC, id DESC)
    WHERE billing ? 'email';
