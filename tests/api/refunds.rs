use domain::usecases::Role;
use futures::future::join_all;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app, spawn_app_for_races};

/// A completed sandbox purchase of course 1 by user 1000; its id.
async fn paid(app: &TestApp, price: &str) -> String {
    app.put_course(1, price, "USD").await;
    let student = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "sandbox"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let done: Value = app
        .post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "sandbox_success"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "completed");
    id
}

async fn request(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let res = app.post("/api/payments/refunds/", token, &body).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn approve(app: &TestApp, refund: &Value) -> Value {
    let res = app
        .post(&format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap()), &app.admin(), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn balance(app: &TestApp, account: &str) -> i64 {
    app.store.account_balance(account.into(), "USD".into(), false).await.unwrap()
}

#[tokio::test]
async fn a_payment_refunded_in_three_parts_reverses_exactly_its_fee_and_earnings() {
    let app = spawn_app().await;
    let payment = paid(&app, "100.00").await;
    let student = app.token(1000, Role::Student);
    for (amount, expected_status) in
        [("33.33", "partially_refunded"), ("33.33", "partially_refunded"), ("33.34", "refunded")]
    {
        let (status, refund) =
            request(&app, &student, json!({"payment_id": payment, "amount": amount, "reason": "changed my mind"}))
                .await;
        assert_eq!(status, 201, "{refund}");
        assert_eq!(refund["status"], "requested");
        let processed = approve(&app, &refund).await;
        assert_eq!(processed["status"], "processed");
        assert!(processed["provider_refund_id"].as_str().unwrap().starts_with("sbx_re_"));
        let p: Value = app.get(&format!("/api/payments/{payment}/"), &student).await.json().await.unwrap();
        assert_eq!(p["status"], expected_status);
    }
    let p: Value = app.get(&format!("/api/payments/{payment}/"), &student).await.json().await.unwrap();
    assert_eq!(p["refunded_amount"], "100.00");
    // Refunds come off the available balance at once; the sale's earnings
    // are still pending until the hold ends.
    assert_eq!(balance(&app, "instructor_pending:100").await, -8000);
    assert_eq!(balance(&app, "instructor_payable:100").await, 8000);
    app.store
        .scalar("WITH moved AS (UPDATE payments SET completed_at = now() - interval '8 days' RETURNING 1) SELECT count(*) AS n FROM moved")
        .unwrap();
    assert_eq!(app.state.payouts.release_due_earnings(10).await.unwrap(), 1);
    // Fee 20.00 reversed as 6.67 + 6.67 + 6.66: every account is back to zero.
    for account in ["platform_revenue", "instructor_pending:100", "instructor_payable:100", "gateway_clearing:sandbox"]
    {
        assert_eq!(balance(&app, account).await, 0, "{account}");
    }
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
    let fees = app.store.scalar("SELECT sum(platform_fee_reversed_minor)::bigint AS n FROM refunds").unwrap();
    assert_eq!(fees, 2000);
    let events = app.store.outbox_events_for(payment.clone()).await.unwrap();
    assert!(events.iter().any(|e| e.event_type == "payment.refunded"), "the enrollment is revoked");
    assert_eq!(
        app.store.scalar("SELECT count(*) AS n FROM outbox_events WHERE event_type = 'refund.processed'").unwrap(),
        3
    );
    let (status, problem) = request(&app, &student, json!({"payment_id": payment, "reason": "again"})).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("invalid_transition")));
}

#[tokio::test]
async fn twenty_racing_requests_for_60_of_100_accept_exactly_one() {
    let app = spawn_app_for_races().await;
    let payment = paid(&app, "100.00").await;
    let student = app.token(1000, Role::Student);
    let body = json!({"payment_id": payment, "amount": "60.00", "reason": "race"});
    let answers = join_all((0..20).map(|_| request(&app, &student, body.clone()))).await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1);
    for (status, problem) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_eq!((*status, problem["code"].as_str()), (422, Some("refund_exceeds_refundable")), "{problem}");
    }
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM refunds").unwrap(), 1);
}

#[tokio::test]
async fn refunds_respect_roles_windows_and_rejections() {
    let app = spawn_app_with_window().await;
    let payment = paid(&app, "50.00").await;
    let student = app.token(1000, Role::Student);
    let other = app.token(2000, Role::Student);
    let (status, _) = request(&app, &other, json!({"payment_id": payment, "reason": "not mine"})).await;
    assert_eq!(status, 404);
    let (status, problem) =
        request(&app, &student, json!({"payment_id": payment, "amount": "50.001", "reason": "x"})).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
    let (status, problem) =
        request(&app, &student, json!({"payment_id": payment, "amount": "50.01", "reason": "x"})).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("refund_exceeds_refundable")));
    let (status, refund) =
        request(&app, &student, json!({"payment_id": payment, "reason": "duplicate purchase"})).await;
    assert_eq!(status, 201);
    assert_eq!(refund["amount"], "50.00");
    let id = refund["id"].as_str().unwrap();
    assert_eq!(app.post(&format!("/api/payments/refunds/{id}/approve/"), &student, &json!({})).await.status(), 403);
    let rejected: Value = app
        .post(&format!("/api/payments/refunds/{id}/reject/"), &app.admin(), &json!({"reason": "used the course"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (rejected["status"].as_str(), rejected["rejection_reason"].as_str()),
        (Some("rejected"), Some("used the course"))
    );
    assert_eq!(app.post(&format!("/api/payments/refunds/{id}/approve/"), &app.admin(), &json!({})).await.status(), 409);
    // The payer sees their refunds; others see none.
    let own: Value = app.get("/api/payments/refunds/", &student).await.json().await.unwrap();
    assert_eq!(own["data"].as_array().unwrap().len(), 1);
    let none: Value = app.get("/api/payments/refunds/", &other).await.json().await.unwrap();
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
    // After the window only an admin may ask.
    app.store.scalar(&format!(
        "WITH moved AS (UPDATE payments SET completed_at = now() - interval '3 days' WHERE id = '{}' RETURNING 1) SELECT count(*) AS n FROM moved",
        payment.trim_start_matches("pay_")
    ))
    .unwrap();
    let (status, problem) = request(&app, &student, json!({"payment_id": payment, "reason": "late"})).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("refund_window_closed")));
    let (status, _) = request(&app, &app.admin(), json!({"payment_id": payment, "reason": "goodwill"})).await;
    assert_eq!(status, 201);
}

async fn spawn_app_with_window() -> TestApp {
    skillpay_e2e::spawn_app_with(&[("SKILLPAY_REFUND_WINDOW_DAYS", "2")]).await
}

#[tokio::test]
async fn admins_read_an_accounts_balance_and_entries_page_by_page() {
    let app = spawn_app().await;
    let payment = paid(&app, "100.00").await;
    let student = app.token(1000, Role::Student);
    let (_, refund) =
        request(&app, &student, json!({"payment_id": payment, "amount": "25.00", "reason": "part"})).await;
    approve(&app, &refund).await;
    let first: Value = app
        .get("/api/payments/admin/ledger/instructor_pending:100/?currency=USD&limit=1", &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["balance"], "-80.00"); // 80.00 earned, still held
    assert_eq!(first["entries"][0]["kind"], "sale");
    let available: Value = app
        .get("/api/payments/admin/ledger/instructor_payable:100/?currency=USD&limit=1", &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(available["balance"], "20.00"); // 20.00 reversed at once
    assert_eq!(available["entries"][0]["kind"], "refund");
    assert_eq!(available["entries"][0]["amount"], "20.00");
    let platform: Value = app
        .get("/api/payments/admin/ledger/platform_revenue/?currency=USD&limit=1", &app.admin())
        .await
        .json()
        .await
        .unwrap();
    let cursor = platform["next_cursor"].as_str().unwrap();
    let older: Value = app
        .get(
            &format!("/api/payments/admin/ledger/platform_revenue/?currency=USD&limit=1&cursor={cursor}"),
            &app.admin(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(older["entries"][0]["kind"], "sale");
    assert_eq!(older["entries"][0]["amount"], "-20.00");
    assert_eq!(older["entries"][0]["payment_id"], payment.as_str());
    assert_eq!(app.get("/api/payments/admin/ledger/platform_revenue/?currency=USD", &student).await.status(), 403);
    assert_eq!(app.get("/api/payments/admin/ledger/cash/?currency=USD", &app.admin()).await.status(), 404);
}

#[tokio::test]
async fn a_refund_above_the_threshold_needs_a_second_admin_and_the_first_cannot_be_both() {
    let app = spawn_app().await;
    let payment = paid(&app, "1500.00").await;
    let student = app.token(1000, Role::Student);
    let (status, refund) = request(&app, &student, json!({"payment_id": payment, "reason": "duplicate"})).await;
    assert_eq!(status, 201, "{refund}");
    let approve = format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap());
    let first = app.token(1, Role::Admin);
    for _ in 0..2 {
        let res = app.post(&approve, &first, &json!({})).await;
        assert_eq!(res.status(), 409);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "second_approval_required");
    }
    assert_eq!(app.count("ledger_journals").await, 1, "nothing moved on the first approval");
    let second = app.token(2, Role::Admin);
    let res = app.post(&approve, &second, &json!({})).await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["status"], "processed");
    assert_eq!(app.count("ledger_journals").await, 2);
}

#[tokio::test]
async fn a_refund_at_the_threshold_needs_one_admin() {
    let app = spawn_app().await;
    let payment = paid(&app, "1000.00").await;
    let (_, refund) =
        request(&app, &app.token(1000, Role::Student), json!({"payment_id": payment, "reason": "duplicate"})).await;
    let approve = format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap());
    let res = app.post(&approve, &app.admin(), &json!({})).await;
    assert_eq!(res.status(), 200);
}
