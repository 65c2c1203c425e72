//! The gateway's own fee reaches the ledger: the sweep reads what the
//! gateway kept of each recent charge (the test gateway keeps 3.5 %) and
//! books it once, charged to the platform or, when so configured, to the
//! instructor.

use domain::usecases::Role;
use domain::usecases::reconciliation::SweepPolicy;
use serde_json::{Value, json};
use skillpay_e2e::TestApp;

use crate::registered_gateway::{app_with_test_gateway_and, buy};

/// A completed 50.00 wallet payment; its id.
async fn paid(app: &TestApp) -> String {
    let student = app.token(1000, Role::Student);
    let created = buy(app, &student).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let confirmed: Value = app
        .post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "ok"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(confirmed["status"], "completed");
    assert_eq!(confirmed["gateway_fee"], Value::Null, "not reported yet");
    id
}

async fn balance(app: &TestApp, account: &str) -> i64 {
    app.store.account_balance(account.into(), "USD".into(), false).await.unwrap()
}

#[tokio::test]
async fn the_sweep_books_the_gateways_fee_once_as_the_platforms_expense() {
    let (app, _) = app_with_test_gateway_and(&[]).await;
    let id = paid(&app).await;

    let report = app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();
    assert_eq!(report.fees_recorded, 1, "{report:?}");
    let again = app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();
    assert_eq!(again.fees_recorded, 0, "{again:?}");

    let read: Value = app.get(&format!("/api/payments/{id}/"), &app.admin()).await.json().await.unwrap();
    assert_eq!(read["gateway_fee"], "1.75");
    assert_eq!(balance(&app, "gateway_fees").await, 1_75);
    assert_eq!(balance(&app, "gateway_clearing:wallet").await, 50_00 - 1_75);
    assert_eq!(balance(&app, "instructor_pending:100").await, -40_00, "the instructor's earnings are untouched");
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM ledger_journals WHERE kind = 'gateway_fee'").unwrap(), 1);
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}

#[tokio::test]
async fn an_instructor_bearing_the_fee_has_it_taken_from_their_available_earnings() {
    let (app, _) = app_with_test_gateway_and(&[("SKILLPAY_GATEWAY_FEE_BEARER", "instructor")]).await;
    paid(&app).await;

    app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();

    assert_eq!(balance(&app, "gateway_fees").await, 0);
    assert_eq!(balance(&app, "instructor_payable:100").await, 1_75, "owed back out of what becomes available");
    assert_eq!(balance(&app, "gateway_clearing:wallet").await, 50_00 - 1_75);
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}
