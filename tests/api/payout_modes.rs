//! Test money and live money are two sets of books. Next to a live
//! gateway, a tester's sandbox sales fill the instructor's test balance and
//! a live sale the live one; each payout takes one mode's balance and
//! leaves only through a rail of its mode (the sandbox's stand-in for test
//! money; no live Stripe Connect rail here, so live money goes by bank
//! transfer), and the ledger verifies each mode on its own.

use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with_gateways};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

async fn app() -> TestApp {
    let live = crate::live_wallet::live_wallet();
    let app =
        spawn_app_with_gateways(&[("SKILLPAY_ENCRYPTION_KEY", KEY), ("SKILLPAY_PAYOUT_HOLD_DAYS", "0")], vec![live])
            .await;
    app.put_course(1, "100.00", "USD").await;
    app.put_course(2, "50.00", "USD").await;
    app
}

/// A completed purchase of `course` by `method` with `token`.
async fn sale(app: &TestApp, token: &str, course: i64, method: &str, payment_token: &str) -> Value {
    let created: Value = app
        .post("/api/payments/", token, &json!({"course_id": course, "payment_method": method}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let res = app.post(&format!("/api/payments/{id}/confirm/"), token, &json!({"payment_token": payment_token})).await;
    let paid: Value = res.json().await.unwrap();
    assert_eq!(paid["status"], "completed", "{paid}");
    paid
}

async fn ask(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let res = app.post("/api/payments/payouts/", token, &body).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

fn payout(amount: &str, method: &str, livemode: Option<bool>) -> Value {
    let destination = match method {
        "stripe_connect" => json!({"account_id": "acct_1Nv0FGQ9RKHgCVdK"}),
        _ => json!({"account_holder": "Ada Lovelace", "account_number": "DE89370400440532013000"}),
    };
    let mut body = json!({"amount": amount, "currency": "USD", "method": method, "destination": destination});
    if let Some(livemode) = livemode {
        body["livemode"] = json!(livemode);
    }
    body
}

#[tokio::test]
async fn each_mode_has_its_own_balance_and_its_money_leaves_only_through_a_rail_of_its_mode() {
    let app = app().await;
    let tester = app.test_mode_token(1000, Role::Student);
    let test_sale = sale(&app, &tester, 1, "sandbox", "sandbox_success").await;
    let live_sale = sale(&app, &app.token(1001, Role::Student), 2, "wallet", "ok").await;
    assert_eq!((test_sale["livemode"].as_bool(), live_sale["livemode"].as_bool()), (Some(false), Some(true)));
    app.state.payouts.release_due_earnings(100).await.unwrap();

    let instructor = app.token(100, Role::Instructor);
    let balances: Value = app.get("/api/payments/payouts/balance/", &instructor).await.json().await.unwrap();
    let seen: Vec<(bool, &str)> = balances["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["livemode"].as_bool().unwrap(), b["available"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [(true, "40.00"), (false, "80.00")], "live first; the two modes never add up: {balances}");

    // Live money: more than the live balance is refused even though the
    // test balance would cover it; Stripe Connect has no live rail here.
    let (status, problem) = ask(&app, &instructor, payout("50.00", "bank_transfer", None)).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("insufficient_balance")), "{problem}");
    let (status, problem) = ask(&app, &instructor, payout("40.00", "stripe_connect", None)).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("payout_method_unavailable")), "{problem}");
    let (status, live_payout) = ask(&app, &instructor, payout("40.00", "bank_transfer", None)).await;
    assert_eq!(status, 201, "{live_payout}");
    assert_eq!(live_payout["livemode"], true, "next to a live gateway a payout takes live money by default");

    // Test money: only for a token allowed test mode, and never by a bank
    // transfer next to live gateways.
    let (status, problem) = ask(&app, &instructor, payout("20.00", "stripe_connect", Some(false))).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("test_mode_not_allowed")), "{problem}");
    let test_instructor = app.test_mode_token(100, Role::Instructor);
    let (status, problem) = ask(&app, &test_instructor, payout("20.00", "bank_transfer", Some(false))).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("payout_method_unavailable")), "{problem}");
    let (status, test_payout) = ask(&app, &test_instructor, payout("80.00", "stripe_connect", Some(false))).await;
    assert_eq!(status, 201, "{test_payout}");
    assert_eq!(test_payout["livemode"], false);
    let id = test_payout["id"].as_str().unwrap();
    let paid: Value =
        app.post(&format!("/api/payments/payouts/{id}/approve/"), &app.admin(), &json!({})).await.json().await.unwrap();
    assert_eq!(paid["status"], "paid", "{paid}");
    assert!(paid["transaction_id"].as_str().unwrap().starts_with("sbxpo_paid_"), "sent by the sandbox: {paid}");

    let listed: Value = app.get("/api/payments/payouts/?livemode=false", &app.admin()).await.json().await.unwrap();
    let ids: Vec<&str> = listed["data"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id], "{listed}");

    // Each mode's books: the test payout left through the test books only.
    let funds = |livemode| app.store.account_balance("payout_funds:stripe_connect".into(), "USD".into(), livemode);
    assert_eq!((funds(false).await.unwrap(), funds(true).await.unwrap()), (-8000, 0));
    let verification = app.store.verify_ledger().await.unwrap();
    assert_eq!(verification.first_discrepancy, None);
    let journals: Vec<(bool, i64)> = verification.modes.iter().map(|m| (m.livemode, m.journals)).collect();
    // Live: sale, release, reserve. Test: sale, release, reserve, paid.
    assert_eq!(journals, [(true, 3), (false, 4)]);
    assert!(app.store.ledger_totals().await.unwrap().iter().all(|(_, _, total)| *total == 0));
}
