// @generated automatically by Diesel CLI.

diesel::table! {
    attention_items (id) {
        id -> Uuid,
        kind -> Text,
        payment_id -> Uuid,
        detail -> Text,
        created_at -> Timestamptz,
        resolved_at -> Nullable<Timestamptz>,
        resolved_by -> Nullable<Int8>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        object_kind -> Text,
        object_id -> Text,
        operation -> Text,
        actor_id -> Nullable<Int8>,
        actor_role -> Nullable<Text>,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        at -> Timestamptz,
    }
}

diesel::table! {
    catalog_items (kind, item_id) {
        kind -> Text,
        item_id -> Int8,
        title -> Text,
        price_minor -> Int8,
        currency -> Text,
        instructor_id -> Int8,
        active -> Bool,
        updated_at -> Timestamptz,
        capacity -> Nullable<Int4>,
        tickets_per_buyer -> Int4,
    }
}

diesel::table! {
    console_audit_log (id) {
        id -> Int8,
        actor_id -> Int8,
        actor_role -> Text,
        action -> Text,
        object_id -> Text,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        at -> Timestamptz,
    }
}

diesel::table! {
    console_sessions (token_hash) {
        token_hash -> Bytea,
        user_id -> Int8,
        role -> Text,
        csrf_token -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
        idle_secs -> Nullable<Int4>,
        last_seen_at -> Timestamptz,
    }
}

diesel::table! {
    console_sign_in_links (token_hash) {
        token_hash -> Bytea,
        user_id -> Int8,
        role -> Text,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    contacts (user_id) {
        user_id -> Int8,
        email -> Text,
        name -> Nullable<Text>,
        locale -> Text,
        updated_at -> Timestamptz,
        source -> Text,
    }
}

diesel::table! {
    coupon_redemptions (id) {
        id -> Uuid,
        coupon_id -> Uuid,
        user_id -> Int8,
        payment_id -> Uuid,
        discount_amount_minor -> Int8,
        currency -> Text,
        status -> Text,
        redeemed_at -> Timestamptz,
        updated_at -> Timestamptz,
        use_shard -> Nullable<Int2>,
        livemode -> Bool,
    }
}

diesel::table! {
    coupon_use_counts (coupon_id, shard) {
        coupon_id -> Uuid,
        shard -> Int2,
        uses -> Int4,
    }
}

diesel::table! {
    coupons (id) {
        id -> Uuid,
        code -> Text,
        discount_type -> Text,
        percent_off -> Nullable<Numeric>,
        amount_off_minor -> Nullable<Int8>,
        currency -> Nullable<Text>,
        max_discount_minor -> Nullable<Int8>,
        min_order_minor -> Nullable<Int8>,
        max_uses -> Nullable<Int4>,
        max_uses_per_user -> Nullable<Int4>,
        valid_from -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        course_ids -> Array<Nullable<Int8>>,
        event_ids -> Array<Nullable<Int8>>,
        is_active -> Bool,
        times_used -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    event_deliveries (id) {
        id -> Uuid,
        event_id -> Uuid,
        endpoint_id -> Uuid,
        event_type -> Text,
        aggregate_id -> Text,
        event_created_at -> Timestamptz,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        first_attempt_at -> Nullable<Timestamptz>,
        last_status -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    event_delivery_attempts (id) {
        id -> Int8,
        delivery_id -> Uuid,
        attempted_at -> Timestamptz,
        response_status -> Nullable<Int4>,
        error -> Nullable<Text>,
        duration_ms -> Int8,
    }
}

diesel::table! {
    event_endpoints (id) {
        id -> Uuid,
        url -> Text,
        event_types -> Array<Nullable<Text>>,
        secret_sealed -> Bytea,
        secret_key_id -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        livemode -> Bool,
    }
}

diesel::table! {
    event_seats (event_id, shard) {
        event_id -> Int8,
        shard -> Int2,
        free -> Int4,
    }
}

diesel::table! {
    fraud_attempts (payment_id, subject) {
        payment_id -> Uuid,
        subject -> Text,
        value -> Text,
        state -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    fraud_blocks (id) {
        id -> Uuid,
        subject -> Text,
        value -> Text,
        address_range -> Nullable<Inet>,
        reason -> Text,
        expires_at -> Nullable<Timestamptz>,
        created_by -> Nullable<Int8>,
        rule_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    fraud_decisions (id) {
        id -> Uuid,
        payment_id -> Uuid,
        user_id -> Int8,
        outcome -> Text,
        fired -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    fraud_rules (id) {
        id -> Uuid,
        name -> Text,
        subject -> Text,
        signal -> Text,
        limit_count -> Int4,
        window_seconds -> Int4,
        action -> Text,
        stop_seconds -> Nullable<Int4>,
        enabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (owner_id, key) {
        owner_id -> Int8,
        key -> Text,
        fingerprint -> Text,
        status -> Text,
        response_status -> Nullable<Int2>,
        response_body -> Nullable<Bytea>,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        lease_until -> Timestamptz,
    }
}

diesel::table! {
    instructor_paid_out (instructor_id, currency, livemode) {
        instructor_id -> Int8,
        currency -> Text,
        paid_minor -> Int8,
        livemode -> Bool,
    }
}

diesel::table! {
    instructor_stats_monthly (instructor_id, livemode, month, item_kind, item_id, currency, shard) {
        instructor_id -> Int8,
        livemode -> Bool,
        month -> Date,
        item_kind -> Text,
        item_id -> Int8,
        currency -> Text,
        shard -> Int2,
        sales -> Int8,
        gross_minor -> Int8,
        platform_fee_minor -> Int8,
        earnings_minor -> Int8,
        refunds -> Int8,
        refunded_minor -> Int8,
        refunded_fee_minor -> Int8,
        instructor_gateway_fee_minor -> Int8,
    }
}

diesel::table! {
    ledger_balances (account, currency, livemode, shard) {
        account -> Text,
        currency -> Text,
        shard -> Int2,
        balance_minor -> Int8,
        updated_at -> Timestamptz,
        livemode -> Bool,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Int8,
        journal_id -> Uuid,
        account -> Text,
        currency -> Text,
        amount_minor -> Int8,
    }
}

diesel::table! {
    ledger_journals (id) {
        id -> Uuid,
        kind -> Text,
        payment_id -> Nullable<Uuid>,
        currency -> Text,
        posted_at -> Timestamptz,
        payout_id -> Nullable<Uuid>,
        livemode -> Bool,
        settlement -> Bool,
    }
}

diesel::table! {
    mail_messages (id) {
        id -> Uuid,
        event_id -> Uuid,
        template -> Text,
        audience -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        first_attempt_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        recipients -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> Uuid,
        event_type -> Text,
        aggregate_id -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
        attempts -> Int4,
        routed_at -> Nullable<Timestamptz>,
        mail_routed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    payment_disputes (id) {
        id -> Uuid,
        payment_id -> Uuid,
        provider_dispute_id -> Nullable<Text>,
        amount_minor -> Int8,
        currency -> Text,
        reason -> Text,
        status -> Text,
        evidence_due_by -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        resolved_at -> Nullable<Timestamptz>,
        fee_held_minor -> Int8,
        livemode -> Bool,
    }
}

diesel::table! {
    payment_gateway_configs (id) {
        id -> Uuid,
        provider -> Text,
        mode -> Text,
        is_active -> Bool,
        credentials_encrypted -> Nullable<Bytea>,
        settings -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        key_id -> Nullable<Text>,
    }
}

diesel::table! {
    payment_stats_daily (livemode, day, status, payment_method, currency, shard) {
        livemode -> Bool,
        day -> Date,
        status -> Text,
        payment_method -> Text,
        currency -> Text,
        shard -> Int2,
        payments -> Int8,
        amount_minor -> Int8,
        discount_minor -> Int8,
        platform_fee_minor -> Int8,
        earnings_minor -> Int8,
        refunded_minor -> Int8,
        refunded_fee_minor -> Int8,
        gateway_fee_minor -> Int8,
        platform_gateway_fee_minor -> Int8,
    }
}

diesel::table! {
    payment_webhook_logs (id) {
        id -> Uuid,
        gateway -> Text,
        event_id -> Text,
        event_type -> Text,
        payload -> Jsonb,
        processed -> Bool,
        processing_error -> Nullable<Text>,
        attempts -> Int4,
        created_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
        claimed_until -> Nullable<Timestamptz>,
        needs_attention -> Nullable<Text>,
        object_refs -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    payments (id) {
        id -> Uuid,
        user_id -> Int8,
        course_id -> Nullable<Int8>,
        event_id -> Nullable<Int8>,
        instructor_id -> Int8,
        status -> Text,
        status_before_dispute -> Nullable<Text>,
        payment_method -> Text,
        provider_payment_id -> Nullable<Text>,
        currency -> Text,
        original_amount_minor -> Int8,
        discount_amount_minor -> Int8,
        amount_minor -> Int8,
        platform_fee_minor -> Int8,
        instructor_earnings_minor -> Int8,
        refunded_amount_minor -> Int8,
        coupon_id -> Nullable<Uuid>,
        coupon_code -> Nullable<Text>,
        billing -> Jsonb,
        ip_address -> Nullable<Inet>,
        user_agent -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        reconcile_after -> Nullable<Timestamptz>,
        earnings_released_at -> Nullable<Timestamptz>,
        gateway_fee_minor -> Nullable<Int8>,
        livemode -> Bool,
        gateway_fee_bearer -> Nullable<Text>,
        fraud_review -> Bool,
        risk -> Nullable<Jsonb>,
        quantity -> Int4,
        one_per_buyer -> Bool,
    }
}

diesel::table! {
    payouts (id) {
        id -> Uuid,
        instructor_id -> Int8,
        amount_minor -> Int8,
        currency -> Text,
        method -> Text,
        status -> Text,
        destination_encrypted -> Bytea,
        destination_masked -> Text,
        transaction_id -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        paid_at -> Nullable<Timestamptz>,
        destination_key_id -> Text,
        approved_by -> Nullable<Int8>,
        approved_at -> Nullable<Timestamptz>,
        admin_note -> Nullable<Text>,
        livemode -> Bool,
    }
}

diesel::table! {
    rate_limit_counters (key, window_start) {
        key -> Text,
        window_start -> Timestamptz,
        hits -> Int4,
    }
}

diesel::table! {
    receipt_series (series) {
        series -> Text,
        last_number -> Int8,
    }
}

diesel::table! {
    receipts (id) {
        id -> Uuid,
        kind -> Text,
        payment_id -> Uuid,
        refund_id -> Nullable<Uuid>,
        livemode -> Bool,
        created_at -> Timestamptz,
        series -> Nullable<Text>,
        sequence -> Nullable<Int8>,
        number -> Nullable<Text>,
        issued_at -> Nullable<Timestamptz>,
        quiet -> Bool,
    }
}

diesel::table! {
    refunds (id) {
        id -> Uuid,
        payment_id -> Uuid,
        amount_minor -> Int8,
        currency -> Text,
        platform_fee_reversed_minor -> Int8,
        status -> Text,
        reason -> Text,
        rejection_reason -> Nullable<Text>,
        provider_refund_id -> Nullable<Text>,
        requested_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
        approved_by -> Nullable<Int8>,
        approved_at -> Nullable<Timestamptz>,
        admin_note -> Nullable<Text>,
        origin -> Text,
        livemode -> Bool,
        gateway_fee_returned_minor -> Nullable<Int8>,
        fee_read_after -> Nullable<Timestamptz>,
        payer_refunds_90d -> Nullable<Int4>,
        payer_paid_90d -> Nullable<Int4>,
        needs_two_admins -> Bool,
    }
}

diesel::table! {
    sole_approvals (object_id) {
        object_id -> Text,
        group_key -> Text,
        admin_id -> Int8,
        currency -> Text,
        amount_minor -> Int8,
        approved_at -> Timestamptz,
    }
}

diesel::table! {
    seat_holds (payment_id, shard) {
        payment_id -> Uuid,
        event_id -> Int8,
        shard -> Int2,
        seats -> Int4,
    }
}

diesel::table! {
    second_approvals (object_id) {
        object_id -> Text,
        first_admin_id -> Int8,
        approved_at -> Timestamptz,
    }
}

diesel::table! {
    settlement_discrepancies (id) {
        id -> Uuid,
        gateway -> Text,
        livemode -> Bool,
        run_id -> Uuid,
        object_kind -> Nullable<Text>,
        object_id -> Text,
        result -> Text,
        currency -> Text,
        gateway_amount_minor -> Int8,
        gateway_fee_minor -> Int8,
        ledger_amount_minor -> Int8,
        ledger_fee_minor -> Int8,
        difference_minor -> Int8,
        status -> Text,
        reason -> Nullable<Text>,
        resolved_by -> Nullable<Int8>,
        resolved_at -> Nullable<Timestamptz>,
        journal_id -> Nullable<Uuid>,
        opened_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    settlement_lines (gateway, livemode, line_id) {
        gateway -> Text,
        livemode -> Bool,
        line_id -> Text,
        run_id -> Uuid,
        kind -> Text,
        amount_minor -> Int8,
        fee_minor -> Int8,
        net_minor -> Int8,
        currency -> Text,
        source -> Nullable<Text>,
        reference -> Nullable<Text>,
        bank_payout -> Nullable<Text>,
        created_at -> Timestamptz,
        object_kind -> Nullable<Text>,
        object_id -> Nullable<Text>,
        result -> Nullable<Text>,
        journal_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    settlement_payouts (gateway, livemode, payout_id) {
        gateway -> Text,
        livemode -> Bool,
        payout_id -> Text,
        amount_minor -> Int8,
        currency -> Text,
        status -> Text,
        created_at -> Timestamptz,
        arrival_at -> Nullable<Timestamptz>,
        itemised -> Bool,
    }
}

diesel::table! {
    settlement_runs (id) {
        id -> Uuid,
        gateway -> Text,
        livemode -> Bool,
        period_since -> Timestamptz,
        period_until -> Timestamptz,
        step -> Text,
        leased_until -> Nullable<Timestamptz>,
        attempts -> Int4,
        lines_read -> Int4,
        matched -> Int4,
        differing -> Int4,
        last_error -> Nullable<Text>,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(attention_items -> payments (payment_id));
diesel::joinable!(coupon_redemptions -> coupons (coupon_id));
diesel::joinable!(coupon_redemptions -> payments (payment_id));
diesel::joinable!(coupon_use_counts -> coupons (coupon_id));
diesel::joinable!(event_deliveries -> event_endpoints (endpoint_id));
diesel::joinable!(event_deliveries -> outbox_events (event_id));
diesel::joinable!(event_delivery_attempts -> event_deliveries (delivery_id));
diesel::joinable!(ledger_entries -> ledger_journals (journal_id));
diesel::joinable!(ledger_journals -> payments (payment_id));
diesel::joinable!(ledger_journals -> payouts (payout_id));
diesel::joinable!(mail_messages -> outbox_events (event_id));
diesel::joinable!(payment_disputes -> payments (payment_id));
diesel::joinable!(payments -> coupons (coupon_id));
diesel::joinable!(receipts -> payments (payment_id));
diesel::joinable!(receipts -> receipt_series (series));
diesel::joinable!(receipts -> refunds (refund_id));
diesel::joinable!(refunds -> payments (payment_id));
diesel::joinable!(seat_holds -> payments (payment_id));
diesel::joinable!(settlement_discrepancies -> ledger_journals (journal_id));
diesel::joinable!(settlement_discrepancies -> settlement_runs (run_id));
diesel::joinable!(settlement_lines -> ledger_journals (journal_id));
diesel::joinable!(settlement_lines -> settlement_runs (run_id));

diesel::allow_tables_to_appear_in_same_query!(
    attention_items,
    audit_log,
    catalog_items,
    console_audit_log,
    console_sessions,
    console_sign_in_links,
    contacts,
    coupon_redemptions,
    coupon_use_counts,
    coupons,
    event_deliveries,
    event_delivery_attempts,
    event_endpoints,
    event_seats,
    fraud_attempts,
    fraud_blocks,
    fraud_decisions,
    fraud_rules,
    idempotency_keys,
    instructor_paid_out,
    instructor_stats_monthly,
    ledger_balances,
    ledger_entries,
    ledger_journals,
    mail_messages,
    outbox_events,
    payment_disputes,
    payment_gateway_configs,
    payment_stats_daily,
    payment_webhook_logs,
    payments,
    payouts,
    rate_limit_counters,
    receipt_series,
    receipts,
    refunds,
    seat_holds,
    second_approvals,
    settlement_discrepancies,
    settlement_lines,
    settlement_payouts,
    settlement_runs,
    sole_approvals,
);
