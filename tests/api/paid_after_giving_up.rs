//! A payment the customer paid for is never lost: a success reported for a
//! payment Skillpay gave up on completes it, or refunds it in full when it
//! can no longer be delivered, and lists it as needing attention. The test
//! gateway of `registered_gateway` plays a gateway whose buyer pays after
//! the decline.

use chrono::Duration as Span;
use domain::ids::UserId;
use domain::usecases::reconciliation::SweepPolicy;
use domain::usecases::{Actor, Role};
use futures::future::join_all;
use serde_json::{Value, json};
use skillpay_e2e::TestApp;
use web_ports::console::ConsoleStore;

use crate::registered_gateway::{TestGateway, app_with_test_gateway, deliver_paid};

/// A wallet payment the gateway declined; its id and session.
async fn declined(app: &TestApp, student: &str, coupon: Option<&str>) -> (String, String) {
    let mut body = json!({"course_id": 1, "payment_method": "wallet"});
    if let Some(code) = coupon {
        body["coupon_code"] = json!(code);
    }
    let created: Value = app.post("/api/payments/", student, &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let failed: Value = app
        .post(&format!("/api/payments/{id}/confirm/"), student, &json!({"payment_token": "no"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(failed["status"], "failed", "{failed}");
    (id, created["provider_payment_id"].as_str().unwrap().to_owned())
}

fn paid_elsewhere(gateway: &TestGateway, session: &str) {
    gateway.paid_elsewhere.lock().unwrap().insert(session.to_owned());
}

async fn payment(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/payments/{id}/"), &app.admin()).await.json().await.unwrap()
}

async fn events(app: &TestApp, id: &str) -> Vec<String> {
    app.store.outbox_events_for(id.to_owned()).await.unwrap().into_iter().map(|e| e.event_type).collect()
}

fn attention(app: &TestApp, kind: &str) -> i64 {
    app.store
        .scalar(&format!("SELECT count(*) AS n FROM attention_items WHERE kind = '{kind}' AND resolved_at IS NULL"))
        .unwrap()
}

async fn clearing(app: &TestApp) -> i64 {
    app.store.account_balance("gateway_clearing:wallet".into(), "USD".into(), false).await.unwrap()
}

#[tokio::test]
async fn a_declined_payment_paid_after_all_is_completed_once_and_needs_attention() {
    let (app, gateway) = app_with_test_gateway().await;
    let student = app.token(1000, Role::Student);
    let (id, session) = declined(&app, &student, None).await;
    paid_elsewhere(&gateway, &session);

    // The gateway's success event, delivered many times at once.
    let event_ids: Vec<String> = (0..8).map(|n| format!("evt_{n}")).collect();
    let deliveries = event_ids.iter().map(|event_id| deliver_paid(&app, event_id, &session));
    for res in join_all(deliveries).await {
        assert_eq!(res.status(), 200);
    }

    let read = payment(&app, &id).await;
    assert_eq!(read["status"], "completed", "{read}");
    assert_eq!(events(&app, &id).await, ["payment.failed", "payment.completed"]);
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM ledger_journals WHERE kind = 'sale'").unwrap(), 1);
    assert_eq!(clearing(&app).await, 50_00);
    assert_eq!(attention(&app, "paid_after_giving_up"), 1);
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);

    // An admin marks it resolved, once.
    let items = app.store.attention_items(10).await.unwrap();
    assert_eq!(items[0].payment_id.to_string(), id);
    let admin = Actor::new(UserId::new(1), Role::Admin);
    assert!(app.store.resolve_attention(items[0].id, admin, chrono::Utc::now()).await.unwrap());
    assert!(!app.store.resolve_attention(items[0].id, admin, chrono::Utc::now()).await.unwrap());
    assert_eq!(attention(&app, "paid_after_giving_up"), 0);
}

#[tokio::test]
async fn a_payment_whose_coupon_was_used_up_meanwhile_is_refunded_in_full() {
    let (app, gateway) = app_with_test_gateway().await;
    app.create_coupon(json!({"code": "ONCE", "discount_type": "percentage", "discount_value": "10", "max_uses": 1}))
        .await;
    let first = app.token(1000, Role::Student);
    let (id, session) = declined(&app, &first, Some("ONCE")).await;
    // The declined payment gave its use back; another student takes it.
    let other = app.token(1001, Role::Student);
    let taken: Value = app
        .post("/api/payments/", &other, &json!({"course_id": 1, "payment_method": "wallet", "coupon_code": "ONCE"}))
        .await
        .json()
        .await
        .unwrap();
    let taken_id = taken["id"].as_str().unwrap();
    app.post(&format!("/api/payments/{taken_id}/confirm/"), &other, &json!({"payment_token": "ok"})).await;
    paid_elsewhere(&gateway, &session);

    assert_eq!(deliver_paid(&app, "evt_late", &session).await.status(), 200);

    let read = payment(&app, &id).await;
    assert_eq!(
        (read["status"].as_str(), read["refunded_amount"].as_str()),
        (Some("refunded"), Some("45.00")),
        "{read}"
    );
    let refunds: Value =
        app.get(&format!("/api/payments/refunds/?payment_id={id}"), &app.admin()).await.json().await.unwrap();
    let refund = &refunds["data"][0];
    assert_eq!((refund["origin"].as_str(), refund["status"].as_str()), (Some("recovery"), Some("processed")));
    // Nothing was delivered: no payment.completed, only the refund.
    assert_eq!(events(&app, &id).await, ["payment.failed", "payment.refunded"]);
    assert_eq!(attention(&app, "paid_undeliverable_refunded"), 1);
    // The coupon's one use stays the other student's.
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM coupon_redemptions WHERE status = 'confirmed'").unwrap(), 1);
    assert_eq!(clearing(&app).await, 45_00, "only the other student's payment is kept");
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}

#[tokio::test]
async fn the_sweep_finds_a_payment_paid_after_it_was_given_up_without_any_webhook() {
    let (app, gateway) = app_with_test_gateway().await;
    let student = app.token(1000, Role::Student);
    let (id, session) = declined(&app, &student, None).await;
    let (still_declined, _) = declined(&app, &student, None).await;
    paid_elsewhere(&gateway, &session);

    let report = app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();

    assert_eq!((report.rechecked, report.recovered), (2, 1), "{report:?}");
    assert_eq!(payment(&app, &id).await["status"], "completed");
    assert_eq!(payment(&app, &still_declined).await["status"], "failed");
    // Each is re-checked again only after a wait (at least ten minutes,
    // growing with the time since it was given up): a second sweep right
    // away asks no one.
    let again = app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();
    assert_eq!(again.rechecked, 0, "{again:?}");
}

#[tokio::test]
async fn a_payment_given_up_longer_than_the_window_is_not_rechecked() {
    let (app, gateway) = app_with_test_gateway().await;
    let student = app.token(1000, Role::Student);
    let (id, session) = declined(&app, &student, None).await;
    paid_elsewhere(&gateway, &session);

    let policy = SweepPolicy { recheck_window: Span::zero(), recheck_min_wait: Span::zero(), ..SweepPolicy::default() };
    let report = app.state.payments.sweep_open_payments(policy).await.unwrap();

    assert_eq!(report.rechecked, 0, "{report:?}");
    assert_eq!(payment(&app, &id).await["status"], "failed");
}
