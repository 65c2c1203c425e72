-- Who decided a refund or a payout, when, and the admin's note.
ALTER TABLE refunds
    ADD COLUMN approved_by bigint,
    ADD COLUMN approved_at timestamptz,
    ADD COLUMN admin_note  text CHECK (char_length(admin_note) <= 1000),
    ADD CHECK ((approved_by IS NULL) = (approved_at IS NULL));
ALTER TABLE payouts
    ADD COLUMN approved_by bigint,
    ADD COLUMN approved_at timestamptz,
    ADD COLUMN admin_note  text CHECK (char_length(admin_note) <= 1000),
    ADD CHECK ((approved_by IS NULL) = (approved_at IS NULL));

-- Every change of a money object, written by a trigger in the transaction
-- that makes the change, so that no change commits without its entry and
-- no entry outlives a change rolled back. The actor is what the writing
-- transaction set with set_config('skillpay.actor_id' / '.actor_role',
-- ..., true); none means the service itself (a webhook, a sweep).
CREATE TABLE audit_log (
    id          bigserial   PRIMARY KEY,
    object_kind text        NOT NULL,
    object_id   text        NOT NULL,
    operation   text        NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
    actor_id    bigint,
    actor_role  text        CHECK (actor_role IN ('student', 'instructor', 'admin')),
    before      jsonb,
    after       jsonb,
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_log_object_idx ON audit_log (object_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id) WHERE actor_id IS NOT NULL;

-- The console's log refuses changes with the same function.
CREATE TRIGGER audit_log_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION console_audit_log_is_append_only();

-- Arguments: the object kind, then the columns never copied into the log
-- (sealed secrets and destinations).
CREATE FUNCTION audit_money_change() RETURNS trigger AS $$
DECLARE
    hidden text[] := TG_ARGV[1:];
    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) - hidden END;
    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) - hidden END;
BEGIN
    IF TG_OP = 'UPDATE' AND old_row = new_row THEN
        RETURN NULL;
    END IF;
    INSERT INTO audit_log (object_kind, object_id, operation, actor_id, actor_role, before, after)
    VALUES (TG_ARGV[0], coalesce(new_row, old_row) ->> 'id', lower(TG_OP),
            nullif(current_setting('skillpay.actor_id', true), '')::bigint,
            nullif(current_setting('skillpay.actor_role', true), ''),
            old_row, new_row);
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER refunds_audited AFTER INSERT OR UPDATE ON refunds
    FOR EACH ROW EXECUTE FUNCTION audit_money_change('refund');
CREATE TRIGGER payouts_audited AFTER INSERT OR UPDATE ON payouts
    FOR EACH ROW EXECUTE FUNCTION audit_money_change('payout', 'destination_encrypted', 'destination_key_id');
CREATE TRIGGER disputes_audited AFTER INSERT OR UPDATE ON payment_disputes
    FOR EACH ROW EXECUTE FUNCTION audit_money_change('dispute');
-- A purchase counts its use on the coupon row: that is no decision.
CREATE TRIGGER coupons_audited AFTER INSERT OR DELETE OR UPDATE OF code, discount_type, percent_off,
        amount_off_minor, currency, max_discount_minor, min_order_minor, max_uses, max_uses_per_user,
        valid_from, expires_at, course_ids, event_ids, is_active ON coupons
    FOR EACH ROW EXECUTE FUNCTION audit_money_change('coupon', 'times_used', 'updated_at');
CREATE TRIGGER gateway_configs_audited AFTER INSERT OR UPDATE OR DELETE ON payment_gateway_configs
    FOR EACH ROW EXECUTE FUNCTION audit_money_change('gateway_config', 'credentials_encrypted');
CREATE TRIGGER event_endpoints_audited AFTER INSERT OR UPDATE OR DELETE ON event_endpoints
    FOR EACH ROW EXECUTE FUNCTION audit_money_change('event_endpoint', 'secret_sealed');
