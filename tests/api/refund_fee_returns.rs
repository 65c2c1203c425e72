//! What PayPal gives back of its fee with a refund reaches the ledger: the
//! sweep reads the capture's fee, then the refund's
//! `seller_payable_breakdown.paypal_fee`, and books the return once, to
//! whoever bears gateway fees; the payment's net gateway fee goes down by
//! it. (PayPal stand-in: wiremock with bodies shaped by PayPal's specs.)

use chrono::Duration;
use domain::usecases::Role;
use domain::usecases::reconciliation::SweepPolicy;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::paypal::{ORDER, app_on, approved_event, deliver, paypal, verifying_and_capturing};

const REFUND: &str = "1JU08902781691411";

#[tokio::test]
async fn a_paypal_refund_gives_back_part_of_the_fee_once_and_the_books_follow() {
    let server = paypal().await;
    let captured = json!({
        "id": ORDER, "status": "COMPLETED",
        "purchase_units": [{"payments": {"captures": [{"id": "3C679366HH908993F", "status": "COMPLETED",
            "seller_receivable_breakdown": {
                "gross_amount": {"currency_code": "USD", "value": "49.99"},
                "paypal_fee": {"currency_code": "USD", "value": "2.24"},
                "net_amount": {"currency_code": "USD", "value": "47.75"}}}]}}],
        "links": []
    });
    verifying_and_capturing(&server, captured).await;
    let refund = json!({"id": REFUND, "status": "COMPLETED", "links": [],
        "seller_payable_breakdown": {
            "gross_amount": {"currency_code": "USD", "value": "10.00"},
            "paypal_fee": {"currency_code": "USD", "value": "0.45"},
            "net_amount": {"currency_code": "USD", "value": "9.55"}}});
    Mock::given(method("POST"))
        .and(path("/v2/payments/captures/3C679366HH908993F/refund"))
        .respond_with(ResponseTemplate::new(201).set_body_json(refund.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/payments/refunds/{REFUND}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(refund))
        .mount(&server)
        .await;
    let app = app_on(&server, Some("WH-ID-1")).await;
    let student = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "paypal"}))
        .await
        .json()
        .await
        .unwrap();
    deliver(&app, &approved_event()).await;
    let id = created["id"].as_str().unwrap();
    let asked: Value = app
        .post("/api/payments/refunds/", &student, &json!({"payment_id": id, "amount": "10.00", "reason": "part"}))
        .await
        .json()
        .await
        .unwrap();
    let refund_id = asked["id"].as_str().unwrap();
    let approved: Value = app
        .post(&format!("/api/payments/refunds/{refund_id}/approve/"), &app.admin(), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(approved["status"], "processed", "{approved}");

    // The return waits for the payment's own fee.
    let (window, no_wait) = (Duration::days(7), Duration::zero());
    let early = app.state.refunds.record_fee_returns(window, no_wait, 10).await.unwrap();
    assert_eq!(early.recorded, 0, "{early:?}");
    let sweep = app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();
    assert_eq!(sweep.fees_recorded, 1, "{sweep:?}");

    let report = app.state.refunds.record_fee_returns(window, no_wait, 10).await.unwrap();
    assert_eq!((report.recorded, report.failed.len()), (1, 0), "{report:?}");
    let again = app.state.refunds.record_fee_returns(window, no_wait, 10).await.unwrap();
    assert_eq!(again.recorded, 0, "recorded once: {again:?}");

    let read: Value = app.get(&format!("/api/payments/refunds/{refund_id}/"), &app.admin()).await.json().await.unwrap();
    assert_eq!(read["gateway_fee_returned"], "0.45", "{read}");
    let payment: Value = app.get(&format!("/api/payments/{id}/"), &app.admin()).await.json().await.unwrap();
    assert_eq!(payment["gateway_fee"], "1.79", "the net fee: 2.24 kept, 0.45 given back");
    let store = &app.store;
    let balance = |account: &'static str| store.account_balance(account.into(), "USD".into(), false);
    assert_eq!(balance("gateway_fees").await.unwrap(), 1_79, "the platform bears the fee and gets the return");
    // 49.99 in, 2.24 kept, 10.00 refunded, 0.45 given back.
    assert_eq!(balance("gateway_clearing:paypal").await.unwrap(), 49_99 - 2_24 - 10_00 + 45);
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}
