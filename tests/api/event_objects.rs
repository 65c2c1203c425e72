//! An event's `data.object` is the object as the API answers for it at
//! that moment: one JSON form of each object, shared by reads and events.

use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with};

/// base64 of 32 bytes: seals payout destinations.
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

async fn app() -> TestApp {
    spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY), ("SKILLPAY_PAYOUT_HOLD_DAYS", "0")]).await
}

/// The object of the latest stored event of `event_type` about `id`.
async fn event_object(app: &TestApp, id: &str, event_type: &str) -> Value {
    let events = app.store.outbox_events_for(id.to_owned()).await.unwrap();
    let event = events.iter().rev().find(|e| e.event_type == event_type);
    event.unwrap_or_else(|| panic!("no {event_type} about {id}: {events:?}")).payload.clone()
}

async fn read(app: &TestApp, path: &str) -> Value {
    let res = app.get(path, &app.admin()).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

async fn admin_post(app: &TestApp, path: &str, body: Value) -> Value {
    let res = app.post(path, &app.admin(), &body).await;
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap()
}

#[tokio::test]
async fn payment_and_refund_events_carry_the_objects_as_the_api_reads_them() {
    let app = app().await;
    let payment = app.sandbox_sale(1, "40.00").await;
    let completed = event_object(&app, &payment, "payment.completed").await;
    assert_eq!(completed, read(&app, &format!("/api/payments/{payment}/")).await);
    assert_eq!(
        (completed["status"].as_str(), completed["refunded_amount"].as_str()),
        (Some("completed"), Some("0.00"))
    );

    let refund =
        admin_post(&app, "/api/payments/refunds/", json!({"payment_id": payment, "reason": "changed mind"})).await;
    let refund_id = refund["id"].as_str().unwrap();
    admin_post(&app, &format!("/api/payments/refunds/{refund_id}/approve/"), json!({"note": "goodwill"})).await;
    let processed = event_object(&app, refund_id, "refund.processed").await;
    assert_eq!(processed, read(&app, &format!("/api/payments/refunds/{refund_id}/")).await);
    assert_eq!((processed["status"].as_str(), processed["admin_note"].as_str()), (Some("processed"), Some("goodwill")));
    let refunded = event_object(&app, &payment, "payment.refunded").await;
    assert_eq!(refunded, read(&app, &format!("/api/payments/{payment}/")).await);
    assert_eq!(refunded["refunded_amount"], "40.00");
}

#[tokio::test]
async fn payout_events_carry_the_payout_as_the_api_reads_it_at_each_step() {
    let app = app().await;
    app.sandbox_sale(1, "100.00").await;
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let instructor = app.token(100, Role::Instructor);
    let bank = json!({"account_holder": "Ada Lovelace", "account_number": "DE89 3704 0044 0532 0130 00"});
    let body = json!({"amount": "25.00", "currency": "USD", "method": "bank_transfer", "destination": bank});
    let res = app.post("/api/payments/payouts/", &instructor, &body).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/payments/payouts/{id}/");
    assert_eq!(event_object(&app, &id, "payout.requested").await, read(&app, &path).await);

    admin_post(&app, &format!("{path}approve/"), json!({})).await;
    admin_post(&app, &format!("{path}mark-paid/"), json!({"reference": "WIRE-2026-0042"})).await;
    let paid = event_object(&app, &id, "payout.paid").await;
    assert_eq!(paid, read(&app, &path).await);
    assert_eq!((paid["transaction_id"].as_str(), paid["approved_by"].is_i64()), (Some("WIRE-2026-0042"), true));
}

/// The types of the stored events about `id`, oldest first.
async fn event_types(app: &TestApp, id: &str) -> Vec<String> {
    app.store.outbox_events_for(id.to_owned()).await.unwrap().into_iter().map(|e| e.event_type).collect()
}

#[tokio::test]
async fn every_step_of_a_refund_and_a_payout_is_announced_with_the_object_as_read() {
    let app = app().await;
    let payment = app.sandbox_sale(1, "100.00").await;
    let refund =
        admin_post(&app, "/api/payments/refunds/", json!({"payment_id": payment, "amount": "10.00", "reason": "late"}))
            .await;
    let refund_id = refund["id"].as_str().unwrap();
    let requested = event_object(&app, refund_id, "refund.requested").await;
    assert_eq!(requested, read(&app, &format!("/api/payments/refunds/{refund_id}/")).await);
    admin_post(&app, &format!("/api/payments/refunds/{refund_id}/reject/"), json!({"reason": "outside the policy"}))
        .await;
    let rejected = event_object(&app, refund_id, "refund.rejected").await;
    assert_eq!(rejected, read(&app, &format!("/api/payments/refunds/{refund_id}/")).await);
    assert_eq!(rejected["rejection_reason"], "outside the policy");
    assert_eq!(event_types(&app, refund_id).await, ["refund.requested", "refund.rejected"]);

    let refund =
        admin_post(&app, "/api/payments/refunds/", json!({"payment_id": payment, "amount": "10.00", "reason": "late"}))
            .await;
    let refund_id = refund["id"].as_str().unwrap();
    admin_post(&app, &format!("/api/payments/refunds/{refund_id}/approve/"), json!({})).await;
    assert_eq!(event_types(&app, refund_id).await, ["refund.requested", "refund.approved", "refund.processed"]);
    let approved = event_object(&app, refund_id, "refund.approved").await;
    assert_eq!((approved["status"].as_str(), approved["approved_by"].is_i64()), (Some("approved"), true));

    app.state.payouts.release_due_earnings(100).await.unwrap();
    let instructor = app.token(100, Role::Instructor);
    let bank = json!({"account_holder": "Ada Lovelace", "account_number": "DE89 3704 0044 0532 0130 00"});
    let body = json!({"amount": "20.00", "currency": "USD", "method": "bank_transfer", "destination": bank});
    let mut ids = Vec::new();
    for _ in 0..3 {
        let res = app.post("/api/payments/payouts/", &instructor, &body).await;
        assert_eq!(res.status(), 201);
        ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let [approved, rejected, cancelled] = [&ids[0], &ids[1], &ids[2]];
    admin_post(&app, &format!("/api/payments/payouts/{approved}/approve/"), json!({"note": "checked"})).await;
    admin_post(&app, &format!("/api/payments/payouts/{rejected}/reject/"), json!({"reason": "verify your account"}))
        .await;
    let res = app.post(&format!("/api/payments/payouts/{cancelled}/cancel/"), &instructor, &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(event_types(&app, approved).await, ["payout.requested", "payout.approved"]);
    let object = event_object(&app, approved, "payout.approved").await;
    assert_eq!((object["status"].as_str(), object["admin_note"].as_str()), (Some("approved"), Some("checked")));
    assert!(object["approved_by"].is_i64() && object["approved_at"].is_string(), "{object}");
    assert_eq!(event_types(&app, rejected).await, ["payout.requested", "payout.rejected"]);
    assert_eq!(
        event_object(&app, rejected, "payout.rejected").await,
        read(&app, &format!("/api/payments/payouts/{rejected}/")).await
    );
    assert_eq!(event_types(&app, cancelled).await, ["payout.requested", "payout.cancelled"]);
    assert_eq!(
        event_object(&app, cancelled, "payout.cancelled").await,
        read(&app, &format!("/api/payments/payouts/{cancelled}/")).await
    );
}

#[tokio::test]
async fn coupon_exhausted_carries_the_coupon_as_the_api_reads_it_without_usage_figures() {
    let app = app().await;
    app.put_course(1, "50.00", "USD").await;
    let coupon = app
        .create_coupon(json!({"code": "ONCE", "discount_type": "fixed", "discount_value": "5.00", "currency": "USD", "max_uses": 1}))
        .await;
    let id = coupon["id"].as_str().unwrap();
    let student = app.token(1000, Role::Student);
    let body = json!({"course_id": 1, "coupon_code": "ONCE", "payment_method": "sandbox"});
    let created: Value = app.post("/api/payments/", &student, &body).await.json().await.unwrap();
    let confirm = json!({"payment_token": "sandbox_success"});
    let path = format!("/api/payments/{}/confirm/", created["id"].as_str().unwrap());
    assert_eq!(app.post(&path, &student, &confirm).await.status(), 200);

    let exhausted = event_object(&app, id, "coupon.exhausted").await;
    let mut read = read(&app, &format!("/api/payments/coupons/{id}/")).await;
    let usage = read.as_object_mut().unwrap();
    for figure in ["reserved", "confirmed", "released", "confirmed_discount"] {
        assert!(usage.remove(figure).is_some(), "{figure} is a figure of the coupon's own page");
    }
    assert_eq!(exhausted, read);
    assert_eq!((exhausted["times_used"].as_i64(), exhausted["max_uses"].as_i64()), (Some(1), Some(1)));
}
