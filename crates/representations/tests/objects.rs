//! The JSON form of each object: its fields (the API contract, which
//! events share) and how amounts, ids and absent values are written.
#![allow(clippy::unwrap_used)]

use domain::builders::{CouponBuilder, DisputeBuilder, PaymentBuilder, PayoutBuilder, RefundBuilder};
use domain::catalog::ItemRef;
use domain::money::{Currency, Money};
use representations::Represented;
use serde_json::{Value, json};

fn keys(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

fn sorted(mut names: Vec<&str>) -> Vec<&str> {
    names.sort_unstable();
    names
}

#[test]
fn a_payment_is_written_with_the_fields_of_the_api_contract() {
    let payment = PaymentBuilder::new().completed().build().to_json().unwrap();
    let expected = vec![
        "id",
        "user_id",
        "course_id",
        "event_id",
        "quantity",
        "instructor_id",
        "status",
        "payment_method",
        "provider_payment_id",
        "original_amount",
        "discount_amount",
        "amount",
        "currency",
        "platform_fee",
        "instructor_earnings",
        "refunded_amount",
        "livemode",
        "gateway_fee",
        "coupon_code",
        "failure_reason",
        "created_at",
        "completed_at",
    ];
    assert_eq!(keys(&payment), sorted(expected));
}

#[test]
fn amounts_are_strings_with_the_currency_digits_and_ids_carry_their_prefix() {
    let yen = Money::from_minor(5000, Currency::JPY);
    let payment = PaymentBuilder::new().price(yen).item(ItemRef::event(7)).build().to_json().unwrap();
    assert_eq!((&payment["amount"], &payment["currency"]), (&json!("5000"), &json!("JPY")));
    assert_eq!(payment["refunded_amount"], "0");
    assert_eq!((&payment["course_id"], &payment["event_id"]), (&Value::Null, &json!(7)));
    assert!(payment["id"].as_str().unwrap().starts_with("pay_"), "{payment}");
    assert_eq!(payment["user_id"], 1000, "user ids are the platform's integers");

    let usd = PaymentBuilder::new().price(Money::from_minor(49_90, Currency::USD)).build().to_json().unwrap();
    assert_eq!(usd["amount"], "49.90");
}

#[test]
fn a_refund_carries_its_approval_and_rejection_fields() {
    let refund = RefundBuilder::new().build().to_json().unwrap();
    let expected = vec![
        "id",
        "payment_id",
        "amount",
        "currency",
        "status",
        "origin",
        "livemode",
        "reason",
        "rejection_reason",
        "provider_refund_id",
        "created_at",
        "processed_at",
        "approved_by",
        "approved_at",
        "admin_note",
        "gateway_fee_returned",
        // Without a screening there is no history, and one admin suffices.
        "needs_two_admins",
    ];
    assert_eq!(keys(&refund), sorted(expected));
    assert_eq!(refund["needs_two_admins"], false);
    assert!(refund["id"].as_str().unwrap().starts_with("re_"), "{refund}");
    assert_eq!(refund["origin"], "request");
    let made_at_the_gateway = RefundBuilder::new().from_gateway().build().to_json().unwrap();
    assert_eq!(made_at_the_gateway["origin"], "gateway");
}

#[test]
fn a_payout_shows_only_its_masked_destination() {
    let payout = PayoutBuilder::new().build().to_json().unwrap();
    let expected = vec![
        "id",
        "instructor_id",
        "amount",
        "currency",
        "method",
        "status",
        "destination_masked",
        "transaction_id",
        "failure_reason",
        "created_at",
        "paid_at",
        "approved_by",
        "approved_at",
        "admin_note",
        "livemode",
    ];
    assert_eq!(keys(&payout), sorted(expected));
    assert_eq!(payout["livemode"], true);
}

#[test]
fn a_dispute_and_a_coupon_are_written_with_their_contract_fields() {
    let dispute = DisputeBuilder::new().build().to_json().unwrap();
    let expected = vec![
        "id",
        "payment_id",
        "amount",
        "currency",
        "reason",
        "status",
        "evidence_due_by",
        "created_at",
        "resolved_at",
        "livemode",
    ];
    assert_eq!(keys(&dispute), sorted(expected));
    let coupon = CouponBuilder::new().max_uses(Some(8)).times_used(8).build().to_json().unwrap();
    assert_eq!((&coupon["max_uses"], &coupon["times_used"]), (&json!(8), &json!(8)));
    assert!(coupon.get("confirmed_uses").is_none(), "no field of its own for events");
}
