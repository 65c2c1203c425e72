use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::spawn_app;

#[tokio::test]
async fn a_purchase_with_a_percentage_coupon_completes_and_balances_the_ledger() {
    let app = spawn_app().await;
    app.put_course(1, "49.99", "USD").await;
    app.create_coupon(json!({"code": "SAVE25", "discount_type": "percentage", "discount_value": "25"})).await;
    let student = app.token(1000, Role::Student);

    let res = app
        .post(
            "/api/payments/",
            &student,
            &json!({"course_id": 1, "coupon_code": "save25", "payment_method": "sandbox"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["status"], "pending");
    assert_eq!(created["original_amount"], "49.99");
    assert_eq!(created["discount_amount"], "12.50"); // 12.4975 rounds half-even to 12.50
    assert_eq!(created["amount"], "37.49");
    assert_eq!(created["platform_fee"], "7.50"); // 7.498
    assert_eq!(created["instructor_earnings"], "29.99");
    assert_eq!(created["currency"], "USD");
    assert_eq!(created["next_action"]["type"], "sandbox_confirm");
    let id = created["id"].as_str().unwrap();

    let res =
        app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "sandbox_success"})).await;
    assert_eq!(res.status(), 200);
    let confirmed: Value = res.json().await.unwrap();
    assert_eq!(confirmed["status"], "completed");
    assert!(confirmed["completed_at"].is_string());

    // Confirming again is a no-op: no second journal.
    let again =
        app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "sandbox_success"})).await;
    assert_eq!(again.status(), 200);
    assert_eq!(app.count("ledger_journals").await, 1);

    let totals = app.store.ledger_totals().await.unwrap();
    assert_eq!(totals, vec![("USD".to_owned(), false, 0)], "one test-mode purchase: test books only");
    let verification = app.store.verify_ledger().await.unwrap();
    assert_eq!(verification.first_discrepancy, None);
    assert_eq!(app.store.account_balance("platform_revenue".into(), "USD".into(), false).await.unwrap(), -750);
    // Earnings wait out the hold period before they can be paid out.
    assert_eq!(app.store.account_balance("instructor_pending:100".into(), "USD".into(), false).await.unwrap(), -2999);
    assert_eq!(app.store.account_balance("instructor_payable:100".into(), "USD".into(), false).await.unwrap(), 0);
    assert_eq!(app.store.account_balance("gateway_clearing:sandbox".into(), "USD".into(), false).await.unwrap(), 3749);

    let confirmed_redemptions =
        app.store.scalar("SELECT count(*) AS n FROM coupon_redemptions WHERE status = 'confirmed'").unwrap();
    assert_eq!(confirmed_redemptions, 1);
    let events = app.store.outbox_events_for(id.to_owned()).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "payment.completed");
    assert_eq!(events[0].payload["amount"], "37.49");
}

#[tokio::test]
async fn a_hundred_percent_coupon_completes_at_once_without_a_gateway() {
    let app = spawn_app_without_sandbox().await;
    app.put_course(3, "9.99", "USD").await;
    app.create_coupon(json!({"code": "FREE", "discount_type": "percentage", "discount_value": "100"})).await;
    let student = app.token(1000, Role::Student);
    let res = app
        .post("/api/payments/", &student, &json!({"course_id": 3, "coupon_code": "FREE", "payment_method": "stripe"}))
        .await;
    assert_eq!(res.status(), 201);
    let payment: Value = res.json().await.unwrap();
    assert_eq!(payment["status"], "completed");
    assert_eq!(payment["amount"], "0.00");
    assert_eq!(payment["provider_payment_id"], Value::Null);
    assert_eq!(app.count("ledger_journals").await, 0);
    let events = app.store.outbox_events_for(payment["id"].as_str().unwrap().to_owned()).await.unwrap();
    assert_eq!(events.len(), 1);
}

async fn spawn_app_without_sandbox() -> skillpay_e2e::TestApp {
    skillpay_e2e::spawn_app_with(&[("SKILLPAY_SANDBOX", "off")]).await
}

#[tokio::test]
async fn a_declined_payment_fails_and_gives_the_coupon_use_back() {
    let app = spawn_app().await;
    app.put_course(1, "20.00", "USD").await;
    let coupon = app
        .create_coupon(json!({"code": "ONCE", "discount_type": "fixed", "discount_value": "5.00", "currency": "USD", "max_uses": 1}))
        .await;
    let student = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "coupon_code": "ONCE", "payment_method": "sandbox"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["amount"], "15.00");
    let id = created["id"].as_str().unwrap();
    let declined: Value = app
        .post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "sandbox_decline"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(declined["status"], "failed");
    assert!(declined["failure_reason"].as_str().unwrap().contains("declined"));
    let usage: Value = app
        .get(&format!("/api/payments/coupons/{}/", coupon["id"].as_str().unwrap()), &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usage["times_used"], 0);
    assert_eq!(usage["released"], 1);
    // The use is free again: another student can take it.
    let other = app.token(1001, Role::Student);
    let res = app
        .post("/api/payments/", &other, &json!({"course_id": 1, "coupon_code": "ONCE", "payment_method": "sandbox"}))
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(app.count("ledger_journals").await, 0);
}

#[tokio::test]
async fn a_cancelled_payment_cannot_be_confirmed_and_a_completed_one_cannot_be_cancelled() {
    let app = spawn_app().await;
    app.put_course(1, "10.00", "USD").await;
    let student = app.token(1000, Role::Student);
    let first: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "sandbox"}))
        .await
        .json()
        .await
        .unwrap();
    let id = first["id"].as_str().unwrap();
    let cancelled: Value =
        app.post(&format!("/api/payments/{id}/cancel/"), &student, &json!({})).await.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    let confirm: Value = app
        .post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "sandbox_success"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(confirm["status"], "cancelled");

    let second: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "sandbox"}))
        .await
        .json()
        .await
        .unwrap();
    let id = second["id"].as_str().unwrap();
    app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "sandbox_success"})).await;
    let res = app.post(&format!("/api/payments/{id}/cancel/"), &student, &json!({})).await;
    assert_eq!(res.status(), 409);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_transition");
}

#[tokio::test]
async fn payments_are_listed_newest_first_with_a_cursor_and_filters() {
    let app = spawn_app().await;
    let student = app.token(1000, Role::Student);
    let mut ids = Vec::new();
    // Five courses: a buyer holds each course once.
    for course in 1..=5 {
        app.put_course(course, "10.00", "USD").await;
        let p: Value = app
            .post("/api/payments/", &student, &json!({"course_id": course, "payment_method": "sandbox"}))
            .await
            .json()
            .await
            .unwrap();
        ids.push(p["id"].as_str().unwrap().to_owned());
    }
    app.post(&format!("/api/payments/{}/confirm/", ids[0]), &student, &json!({"payment_token": "sandbox_success"}))
        .await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/payments/?limit=2&cursor={c}"),
            None => "/api/payments/?limit=2".to_owned(),
        };
        let page: Value = app.get(&path, &student).await.json().await.unwrap();
        for p in page["data"].as_array().unwrap() {
            seen.push(p["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);
    let completed: Value = app.get("/api/payments/?status=completed", &app.admin()).await.json().await.unwrap();
    assert_eq!(completed["data"].as_array().unwrap().len(), 1);
    let bad = app.get("/api/payments/?status=paid", &student).await;
    assert_eq!(bad.status(), 400);
    // Another student sees none of them.
    let other: Value = app.get("/api/payments/", &app.token(2000, Role::Student)).await.json().await.unwrap();
    assert_eq!(other["data"].as_array().unwrap().len(), 0);
}
