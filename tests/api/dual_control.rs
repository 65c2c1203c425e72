//! Two-admin approval cannot be split around: what one admin approves alone
//! of one payment's refunds, or of one instructor's payouts, adds up against
//! the threshold, and the threshold is per currency.

use domain::usecases::Role;
use futures::future::join_all;
use serde_json::{Value, json};
use skillpay_e2e::{RACE_SETTINGS, TestApp, spawn_app, spawn_app_with};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Student 1000 buys course `course` at `price` in `currency`; the payment.
async fn paid(app: &TestApp, course: i64, price: &str, currency: &str) -> String {
    app.put_course(course, price, currency).await;
    let student = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": course, "payment_method": "sandbox"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let res =
        app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "sandbox_success"})).await;
    assert_eq!(res.status(), 200);
    id
}

/// Student 1000 asks for `amount` back; the refund's approve path.
async fn refund(app: &TestApp, payment: &str, amount: &str) -> String {
    let body = json!({"payment_id": payment, "amount": amount, "reason": "partial"});
    let res = app.post("/api/payments/refunds/", &app.token(1000, Role::Student), &body).await;
    assert_eq!(res.status(), 201);
    let refund: Value = res.json().await.unwrap();
    format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap())
}

async fn approve(app: &TestApp, path: &str, admin: i64) -> (u16, Option<String>) {
    let res = app.post(path, &app.token(admin, Role::Admin), &json!({})).await;
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (status, body["code"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn partial_refunds_one_admin_approves_alone_add_up_against_the_threshold() {
    let app = spawn_app().await;
    let payment = paid(&app, 1, "3000.00", "USD").await;
    let (first, second, third) = (
        refund(&app, &payment, "600.00").await,
        refund(&app, &payment, "600.00").await,
        refund(&app, &payment, "600.00").await,
    );
    assert_eq!(approve(&app, &first, 1).await.0, 200, "600.00 alone is within 1,000.00");
    assert_eq!(approve(&app, &second, 1).await, (409, Some("second_approval_required".to_owned())), "1,200.00 is not");
    assert_eq!(approve(&app, &second, 1).await.0, 409, "asking again is still the first approval");
    let second_id = second.split('/').find(|part| part.starts_with("re_")).unwrap().to_owned();
    let awaited = app.store.outbox_events_for(second_id).await.unwrap();
    let awaited: Vec<(&str, &serde_json::Value)> = awaited
        .iter()
        .filter(|e| e.event_type.starts_with("approval."))
        .map(|e| (e.event_type.as_str(), &e.payload))
        .collect();
    assert_eq!(awaited.len(), 1, "the other admins are told once: {awaited:?}");
    assert_eq!(awaited[0].0, "approval.requested");
    assert_eq!(
        (&awaited[0].1["kind"], &awaited[0].1["amount"], &awaited[0].1["first_admin"], &awaited[0].1["livemode"]),
        (&serde_json::json!("refund"), &serde_json::json!("600.00"), &serde_json::json!(1), &serde_json::json!(false)),
        "a sandbox refund's wait is announced to test endpoints only"
    );
    assert_eq!(approve(&app, &second, 2).await.0, 200, "a second admin carries it out");
    assert_eq!(approve(&app, &third, 1).await.1.as_deref(), Some("second_approval_required"));
    // The other admin's own sole approvals are counted on their own.
    assert_eq!(approve(&app, &third, 2).await.0, 200);
    let refunded = app.store.scalar("SELECT count(*) AS n FROM refunds WHERE status = 'processed'").unwrap();
    assert_eq!(refunded, 3);
}

#[tokio::test]
async fn thresholds_are_per_currency_and_an_unnamed_currency_always_takes_two_admins() {
    let app = spawn_app().await;
    // 1,001 yen is about 7 USD: the default 150,000 JPY threshold lets one admin.
    let yen = paid(&app, 1, "2000", "JPY").await;
    assert_eq!(approve(&app, &refund(&app, &yen, "1001").await, 1).await.0, 200);
    // Swiss francs are not named in the default setting: two admins, whatever the amount.
    let francs = paid(&app, 2, "20.00", "CHF").await;
    let small = refund(&app, &francs, "1.00").await;
    assert_eq!(approve(&app, &small, 1).await.1.as_deref(), Some("second_approval_required"));
    assert_eq!(approve(&app, &small, 2).await.0, 200);
}

#[tokio::test]
async fn concurrent_payout_approvals_by_one_admin_cannot_all_slip_under_the_threshold() {
    let [workers, pool] = RACE_SETTINGS;
    let app = spawn_app_with(&[
        ("SKILLPAY_ENCRYPTION_KEY", KEY),
        ("SKILLPAY_PAYOUT_HOLD_DAYS", "0"),
        ("SKILLPAY_SECOND_APPROVAL_ABOVE", "USD:50.00"),
        workers,
        pool,
    ])
    .await;
    app.sandbox_sale(1, "200.00").await;
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let instructor = app.token(100, Role::Instructor);
    let mut approvals = Vec::new();
    for _ in 0..10 {
        let body = json!({"amount": "15.00", "currency": "USD", "method": "stripe_connect",
            "destination": {"account_id": "acct_1Nv0FGQ9RKHgCVdK"}});
        let res = app.post("/api/payments/payouts/", &instructor, &body).await;
        assert_eq!(res.status(), 201);
        let payout: Value = res.json().await.unwrap();
        approvals.push(format!("/api/payments/payouts/{}/approve/", payout["id"].as_str().unwrap()));
    }
    // Ten payouts of 15.00, each under the 50.00 threshold, approved at once
    // by one admin: only three (45.00) go through alone.
    let results = join_all(approvals.iter().map(|path| approve(&app, path, 1))).await;
    let alone = results.iter().filter(|(status, _)| *status == 200).count();
    let held = results.iter().filter(|(_, code)| code.as_deref() == Some("second_approval_required")).count();
    assert_eq!((alone, held), (3, 7), "{results:?}");
    let paid = app.store.scalar("SELECT count(*) AS n FROM payouts WHERE status = 'paid'").unwrap();
    assert_eq!(paid, 3);
}

#[tokio::test]
async fn an_admin_who_is_the_instructor_paid_never_approves_alone() {
    let app = spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY), ("SKILLPAY_PAYOUT_HOLD_DAYS", "0")]).await;
    app.sandbox_sale(1, "100.00").await;
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let body = json!({"amount": "20.00", "currency": "USD", "method": "stripe_connect",
        "destination": {"account_id": "acct_1Nv0FGQ9RKHgCVdK"}});
    let res = app.post("/api/payments/payouts/", &app.token(100, Role::Instructor), &body).await;
    let payout: Value = res.json().await.unwrap();
    let path = format!("/api/payments/payouts/{}/approve/", payout["id"].as_str().unwrap());
    // User 100 also holds an admin token: its approval is only the first.
    assert_eq!(approve(&app, &path, 100).await.1.as_deref(), Some("second_approval_required"));
    assert_eq!(approve(&app, &path, 1).await.0, 200);
}
