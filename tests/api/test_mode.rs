//! Test and live money kept apart. While a live gateway is served, the
//! sandbox (a test-mode gateway) takes payments only from admins and from
//! tokens with the `test_mode` claim; anyone else gets 422
//! `test_mode_not_allowed` and nothing is written. With only test-mode
//! gateways (as in development and every other suite) anyone may use it.
//! Where the sandbox is off, a sandbox payment is 422
//! `payment_method_unavailable`, and nothing is written either.

use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app, spawn_app_with, spawn_app_with_gateways};

/// The sandbox (on in tests) next to a live gateway, a course and a coupon.
async fn sandbox_next_to_live() -> TestApp {
    let live = crate::live_wallet::live_wallet();
    let app = spawn_app_with_gateways(&[], vec![live]).await;
    selling(&app).await;
    app
}

async fn selling(app: &TestApp) {
    app.put_course(1, "49.99", "USD").await;
    app.create_coupon(json!({"code": "TENOFF", "discount_type": "percentage", "discount_value": "10"})).await;
}

async fn buy(app: &TestApp, token: &str, method: &str) -> (u16, Value) {
    let body = json!({"course_id": 1, "coupon_code": "TENOFF", "payment_method": method});
    let res = app.post("/api/payments/", token, &body).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

/// 422 with `code`, and no payment nor coupon use written.
async fn refused_with_nothing_written(app: &TestApp, answer: (u16, Value), code: &str) {
    let (status, problem) = answer;
    assert_eq!((status, problem["code"].as_str()), (422, Some(code)), "{problem}");
    assert_eq!(app.count("payments").await, 0, "no payment stored");
    assert_eq!(app.count("coupon_redemptions").await, 0, "no coupon use reserved");
}

#[tokio::test]
async fn next_to_a_live_gateway_a_student_without_the_claim_is_refused_the_sandbox_and_nothing_is_written() {
    let app = sandbox_next_to_live().await;
    for role in [Role::Student, Role::Instructor] {
        let answer = buy(&app, &app.token(1000, role), "sandbox").await;
        refused_with_nothing_written(&app, answer, "test_mode_not_allowed").await;
    }
}

#[tokio::test]
async fn next_to_a_live_gateway_the_claim_or_the_admin_role_allows_the_sandbox() {
    let app = sandbox_next_to_live().await;
    for token in [app.test_mode_token(1000, Role::Student), app.admin()] {
        let (status, payment) = buy(&app, &token, "sandbox").await;
        assert_eq!(status, 201, "{payment}");
        assert_eq!(payment["payment_method"], "sandbox");
        assert_eq!(payment["discount_amount"], "5.00");
        assert_eq!(payment["livemode"], false, "sandbox money is test money");
    }
    // The live method stays open to everyone, and is live money.
    let (status, payment) = buy(&app, &app.token(1001, Role::Student), "wallet").await;
    assert_eq!(status, 201, "{payment}");
    assert_eq!(payment["livemode"], true);
}

#[tokio::test]
async fn with_only_test_mode_gateways_a_student_without_the_claim_uses_the_sandbox() {
    let app = spawn_app().await;
    selling(&app).await;
    let (status, payment) = buy(&app, &app.token(1000, Role::Student), "sandbox").await;
    assert_eq!(status, 201, "{payment}");
    assert_eq!(payment["payment_method"], "sandbox");
}

#[tokio::test]
async fn where_the_sandbox_is_off_a_sandbox_payment_is_unavailable_and_nothing_is_written() {
    let app = spawn_app_with(&[("SKILLPAY_SANDBOX", "off")]).await;
    selling(&app).await;
    let answer = buy(&app, &app.test_mode_token(1000, Role::Student), "sandbox").await;
    refused_with_nothing_written(&app, answer, "payment_method_unavailable").await;
}
