use domain::usecases::Role;
use futures::future::join_all;
use serde_json::{Value, json};
use skillpay_e2e::{RACE_SETTINGS, TestApp, spawn_app_with};

/// base64 of 32 bytes: seals payout destinations in these tests.
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const INSTRUCTOR: i64 = 100;

/// An app whose sale earnings are released by the next sweep.
async fn app() -> TestApp {
    spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY), ("SKILLPAY_PAYOUT_HOLD_DAYS", "0")]).await
}

/// [`app`] with as many workers and connections as production, for races.
async fn racing_app() -> TestApp {
    let [workers, pool] = RACE_SETTINGS;
    spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY), ("SKILLPAY_PAYOUT_HOLD_DAYS", "0"), workers, pool]).await
}

async fn sale(app: &TestApp, course: i64, price: &str) -> String {
    app.sandbox_sale(course, price).await
}

fn instructor(app: &TestApp) -> String {
    app.token(INSTRUCTOR, Role::Instructor)
}

async fn usd_balance(app: &TestApp) -> Value {
    let body: Value = app.get("/api/payments/payouts/balance/", &instructor(app)).await.json().await.unwrap();
    body["balances"].as_array().unwrap().iter().find(|b| b["currency"] == "USD").cloned().unwrap_or(Value::Null)
}

async fn ask(app: &TestApp, amount: &str, method: &str, destination: Value) -> (u16, Value) {
    let body = json!({"amount": amount, "currency": "USD", "method": method, "destination": destination});
    let res = app.post("/api/payments/payouts/", &instructor(app), &body).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn admin_post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let res = app.post(path, &app.admin(), &body).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

fn stripe_account() -> Value {
    json!({"account_id": "acct_1Nv0FGQ9RKHgCVdK"})
}

async fn ledger_is_sound(app: &TestApp) {
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
    assert!(app.store.ledger_totals().await.unwrap().iter().all(|(_, _, total)| *total == 0));
}

#[tokio::test]
async fn earnings_wait_out_the_hold_then_are_paid_out_through_stripe_connect() {
    let app = app().await;
    sale(&app, 1, "100.00").await;
    let held = usd_balance(&app).await;
    assert_eq!((held["pending"].as_str(), held["available"].as_str()), (Some("80.00"), Some("0.00")));
    let (status, problem) = ask(&app, "10.00", "stripe_connect", stripe_account()).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("insufficient_balance")), "{problem}");

    assert_eq!(app.state.payouts.release_due_earnings(100).await.unwrap(), 1);
    assert_eq!(app.state.payouts.release_due_earnings(100).await.unwrap(), 0, "released once");
    let released = usd_balance(&app).await;
    assert_eq!((released["pending"].as_str(), released["available"].as_str()), (Some("0.00"), Some("80.00")));

    let (status, problem) = ask(&app, "9.99", "stripe_connect", stripe_account()).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("payout_below_minimum")));
    let (status, problem) = ask(&app, "80.01", "stripe_connect", stripe_account()).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("insufficient_balance")));

    let (status, payout) = ask(&app, "50.00", "stripe_connect", stripe_account()).await;
    assert_eq!(status, 201, "{payout}");
    assert_eq!(
        (payout["status"].as_str(), payout["destination_masked"].as_str()),
        (Some("requested"), Some("acct_****CVdK"))
    );
    assert!(!payout.to_string().contains("1Nv0FGQ9RKHgCVdK"), "the account is shown masked only");
    let reserved = usd_balance(&app).await;
    assert_eq!((reserved["available"].as_str(), reserved["in_transit"].as_str()), (Some("30.00"), Some("50.00")));

    let id = payout["id"].as_str().unwrap();
    let res = app.post(&format!("/api/payments/payouts/{id}/approve/"), &instructor(&app), &json!({})).await;
    assert_eq!(res.status(), 403, "instructors do not approve their own payouts");
    let (status, paid) = admin_post(&app, &format!("/api/payments/payouts/{id}/approve/"), json!({})).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["status"], "paid");
    assert!(paid["transaction_id"].as_str().unwrap().starts_with("sbxpo_paid_"));
    assert!(paid["paid_at"].is_string());
    let after = usd_balance(&app).await;
    assert_eq!(
        (after["available"].as_str(), after["in_transit"].as_str(), after["paid_out"].as_str()),
        (Some("30.00"), Some("0.00"), Some("50.00"))
    );
    assert_eq!(
        app.store.account_balance("payout_funds:stripe_connect".into(), "USD".into(), false).await.unwrap(),
        -5000
    );
    let events = app.store.scalar("SELECT count(*) AS n FROM outbox_events WHERE event_type = 'payout.paid'").unwrap();
    assert_eq!(events, 1);
    ledger_is_sound(&app).await;

    // Sealed at rest: the account id is nowhere in the row.
    let leaks = app
        .store
        .scalar(
            "SELECT count(*) AS n FROM payouts WHERE position('1Nv0FGQ9RKHgCVdK'::bytea IN destination_encrypted) > 0",
        )
        .unwrap();
    assert_eq!(leaks, 0);
}

#[tokio::test]
async fn twenty_racing_requests_for_the_whole_balance_accept_exactly_one() {
    let app = racing_app().await;
    sale(&app, 1, "100.00").await;
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let answers = join_all((0..20).map(|_| ask(&app, "80.00", "stripe_connect", stripe_account()))).await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1, "{answers:?}");
    for (status, problem) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_eq!((*status, problem["code"].as_str()), (422, Some("insufficient_balance")), "{problem}");
    }
    let balance = usd_balance(&app).await;
    assert_eq!((balance["available"].as_str(), balance["in_transit"].as_str()), (Some("0.00"), Some("80.00")));
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payouts").unwrap(), 1);
    ledger_is_sound(&app).await;
}

#[tokio::test]
async fn paypal_payouts_settle_later_and_refused_ones_give_the_money_back() {
    let app = app().await;
    sale(&app, 1, "100.00").await;
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let (_, payout) = ask(&app, "20.00", "paypal", json!({"email": "teacher@example.com"})).await;
    assert_eq!(payout["destination_masked"], "t***@example.com");
    let id = payout["id"].as_str().unwrap();
    let (_, sent) = admin_post(&app, &format!("/api/payments/payouts/{id}/approve/"), json!({})).await;
    assert_eq!(sent["status"], "processing", "PayPal batches settle later");
    let (settled, failed) = app.state.payouts.sync_processing(10).await.unwrap();
    assert_eq!((settled, failed.len()), (1, 0));
    let read: Value = app.get(&format!("/api/payments/payouts/{id}/"), &instructor(&app)).await.json().await.unwrap();
    assert_eq!(read["status"], "paid");

    let (_, refused) = ask(&app, "30.00", "paypal", json!({"email": "decline@example.com"})).await;
    let id = refused["id"].as_str().unwrap();
    let (_, failed) = admin_post(&app, &format!("/api/payments/payouts/{id}/approve/"), json!({})).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["failure_reason"].is_string());
    let balance = usd_balance(&app).await;
    assert_eq!(
        (balance["available"].as_str(), balance["in_transit"].as_str(), balance["paid_out"].as_str()),
        (Some("60.00"), Some("0.00"), Some("20.00"))
    );
    ledger_is_sound(&app).await;
}

#[tokio::test]
async fn bank_transfers_are_marked_by_an_admin_and_rejections_and_cancellations_return_the_money() {
    let app = app().await;
    sale(&app, 1, "100.00").await;
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let bank = json!({"account_holder": "Ada Lovelace", "account_number": "DE89 3704 0044 0532 0130 00"});
    let (status, payout) = ask(&app, "25.00", "bank_transfer", bank.clone()).await;
    assert_eq!(status, 201, "{payout}");
    assert_eq!(payout["destination_masked"], "****3000");
    let id = payout["id"].as_str().unwrap();
    let (_, sending) = admin_post(&app, &format!("/api/payments/payouts/{id}/approve/"), json!({})).await;
    assert_eq!(sending["status"], "processing");
    let (status, problem) =
        admin_post(&app, &format!("/api/payments/payouts/{id}/mark-paid/"), json!({"reference": " "})).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
    let (_, paid) =
        admin_post(&app, &format!("/api/payments/payouts/{id}/mark-paid/"), json!({"reference": "WIRE-2026-0042"}))
            .await;
    assert_eq!((paid["status"].as_str(), paid["transaction_id"].as_str()), (Some("paid"), Some("WIRE-2026-0042")));
    // The wire bounced: the money comes back.
    let (_, bounced) =
        admin_post(&app, &format!("/api/payments/payouts/{id}/mark-failed/"), json!({"reason": "account closed"}))
            .await;
    assert_eq!(bounced["status"], "failed");

    // A bank reference names one transfer: reusing it is a conflict, not a 500.
    let (_, second) = ask(&app, "10.00", "bank_transfer", bank.clone()).await;
    let second = second["id"].as_str().unwrap();
    admin_post(&app, &format!("/api/payments/payouts/{second}/approve/"), json!({})).await;
    let (status, problem) =
        admin_post(&app, &format!("/api/payments/payouts/{second}/mark-paid/"), json!({"reference": "WIRE-2026-0042"}))
            .await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("conflict")), "{problem}");
    let (_, failed) =
        admin_post(&app, &format!("/api/payments/payouts/{second}/mark-failed/"), json!({"reason": "wrong reference"}))
            .await;
    assert_eq!(failed["status"], "failed");

    let (_, rejected) = ask(&app, "10.00", "bank_transfer", bank.clone()).await;
    let id = rejected["id"].as_str().unwrap();
    let (_, rejected) =
        admin_post(&app, &format!("/api/payments/payouts/{id}/reject/"), json!({"reason": "verify your account"}))
            .await;
    assert_eq!(
        (rejected["status"].as_str(), rejected["failure_reason"].as_str()),
        (Some("rejected"), Some("verify your account"))
    );
    let (status, _) = admin_post(&app, &format!("/api/payments/payouts/{id}/approve/"), json!({})).await;
    assert_eq!(status, 409);

    let (_, withdrawn) = ask(&app, "10.00", "bank_transfer", bank).await;
    let id = withdrawn["id"].as_str().unwrap();
    let res = app.post(&format!("/api/payments/payouts/{id}/cancel/"), &instructor(&app), &json!({})).await;
    assert_eq!(res.status(), 200);

    let balance = usd_balance(&app).await;
    assert_eq!(
        (balance["available"].as_str(), balance["in_transit"].as_str(), balance["paid_out"].as_str()),
        (Some("80.00"), Some("0.00"), Some("0.00"))
    );
    let mine: Value = app.get("/api/payments/payouts/?status=rejected", &instructor(&app)).await.json().await.unwrap();
    assert_eq!(mine["data"].as_array().unwrap().len(), 1);
    ledger_is_sound(&app).await;
}

#[tokio::test]
async fn a_refund_after_a_payout_is_carried_and_netted_from_later_earnings() {
    let app = app().await;
    let payment = sale(&app, 1, "100.00").await;
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let (_, payout) = ask(&app, "80.00", "stripe_connect", stripe_account()).await;
    admin_post(&app, &format!("/api/payments/payouts/{}/approve/", payout["id"].as_str().unwrap()), json!({})).await;
    let student = app.token(1000, Role::Student);
    let refund: Value = app
        .post("/api/payments/refunds/", &student, &json!({"payment_id": payment, "reason": "not for me"}))
        .await
        .json()
        .await
        .unwrap();
    let (_, processed) =
        admin_post(&app, &format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap()), json!({}))
            .await;
    assert_eq!(processed["status"], "processed");
    let owed = usd_balance(&app).await;
    assert_eq!((owed["available"].as_str(), owed["negative_carry"].as_str()), (Some("0.00"), Some("80.00")));
    let (status, problem) = ask(&app, "10.00", "stripe_connect", stripe_account()).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("insufficient_balance")));

    sale(&app, 2, "150.00").await;
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let netted = usd_balance(&app).await;
    assert_eq!((netted["available"].as_str(), netted["negative_carry"].as_str()), (Some("40.00"), Some("0.00")));
    ledger_is_sound(&app).await;
}

#[tokio::test]
async fn payouts_check_roles_fields_and_the_encryption_key() {
    let app = app().await;
    let student = app.token(1000, Role::Student);
    let body = json!({"amount": "10.00", "currency": "USD", "method": "paypal", "destination": {"email": "a@b.co"}});
    assert_eq!(app.post("/api/payments/payouts/", &student, &body).await.status(), 403);
    assert_eq!(app.get("/api/payments/payouts/", &student).await.status(), 403);
    let (status, problem) = ask(&app, "10.00", "stripe_connect", json!({"email": "a@b.co"})).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
    assert_eq!(problem["errors"][0]["field"], "destination.account_id");
    let (status, problem) = ask(&app, "10.00", "wire", json!({})).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("method")));
    let (status, problem) = ask(&app, "10.00", "paypal", json!({"email": "not an email"})).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("destination")));
    assert!(!problem.to_string().contains("not an email"), "destinations are never echoed");
    let (status, problem) = ask(&app, "10.00", "paypal", json!({"email": "a@b.co", "iban": "x"})).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")), "unknown fields are refused");

    // Someone else's payout is not found; an admin reads any balance.
    sale(&app, 1, "100.00").await;
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let (_, payout) = ask(&app, "10.00", "paypal", json!({"email": "a@b.co"})).await;
    let other = app.token(200, Role::Instructor);
    let path = format!("/api/payments/payouts/{}/", payout["id"].as_str().unwrap());
    assert_eq!(app.get(&path, &other).await.status(), 404);
    assert_eq!(app.get("/api/payments/payouts/balance/?instructor_id=100", &other).await.status(), 403);
    let any: Value =
        app.get("/api/payments/payouts/balance/?instructor_id=100", &app.admin()).await.json().await.unwrap();
    assert_eq!(any["balances"][0]["in_transit"], "10.00");

    let keyless = spawn_app_with(&[("SKILLPAY_PAYOUT_HOLD_DAYS", "0")]).await;
    sale(&keyless, 1, "100.00").await;
    keyless.state.payouts.release_due_earnings(100).await.unwrap();
    let (status, problem) = ask(&keyless, "10.00", "paypal", json!({"email": "a@b.co"})).await;
    assert_eq!((status, problem["code"].as_str()), (503, Some("encryption_not_configured")));
    assert_eq!(keyless.store.scalar("SELECT count(*) AS n FROM payouts").unwrap(), 0);
}

#[tokio::test]
async fn a_payout_above_the_configured_threshold_needs_a_second_admin() {
    let app = spawn_app_with(&[
        ("SKILLPAY_ENCRYPTION_KEY", KEY),
        ("SKILLPAY_PAYOUT_HOLD_DAYS", "0"),
        ("SKILLPAY_SECOND_APPROVAL_ABOVE", "50.00"),
    ])
    .await;
    sale(&app, 1, "100.00").await;
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let (_, large) = ask(&app, "60.00", "stripe_connect", stripe_account()).await;
    let (_, small) = ask(&app, "20.00", "stripe_connect", stripe_account()).await;
    let approve = |p: &Value| format!("/api/payments/payouts/{}/approve/", p["id"].as_str().unwrap());
    let (status, problem) = admin_post(&app, &approve(&large), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("second_approval_required")));
    let (status, _) = admin_post(&app, &approve(&small), json!({})).await;
    assert_eq!(status, 200, "one admin suffices at or below the threshold");
    let res = app.post(&approve(&large), &app.token(2, Role::Admin), &json!({})).await;
    assert_eq!(res.status(), 200);
    let paid: Value = res.json().await.unwrap();
    assert_eq!(paid["status"], "paid");
    ledger_is_sound(&app).await;
}

#[tokio::test]
async fn the_kept_amount_paid_out_stays_the_sum_of_paid_payouts_while_payouts_are_paid_and_fail_concurrently() {
    let app = racing_app().await;
    sale(&app, 1, "500.00").await;
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let bank = json!({"account_holder": "Ada Lovelace", "account_number": "DE89 3704 0044 0532 0130 00"});
    let asked = join_all((0..16).map(|_| ask(&app, "10.00", "bank_transfer", bank.clone()))).await;
    assert!(asked.iter().all(|(s, _)| *s == 201), "{asked:?}");
    let ids: Vec<String> = asked.iter().map(|(_, p)| p["id"].as_str().unwrap().to_owned()).collect();
    let app = &app;
    let approved = join_all(ids.iter().map(|id| {
        let path = format!("/api/payments/payouts/{id}/approve/");
        async move { admin_post(app, &path, json!({})).await }
    }))
    .await;
    assert!(approved.iter().all(|(_, p)| p["status"] == "processing"), "{approved:?}");
    let kept =
        || app.store.scalar("SELECT coalesce(sum(paid_minor), 0)::bigint AS n FROM instructor_paid_out").unwrap();
    let paid = || {
        app.store
            .scalar("SELECT coalesce(sum(amount_minor), 0)::bigint AS n FROM payouts WHERE status = 'paid'")
            .unwrap()
    };
    let mark = |id: &String, what: &str| {
        let body =
            if what == "mark-paid" { json!({"reference": format!("WIRE-{id}")}) } else { json!({"reason": "bounced"}) };
        let path = format!("/api/payments/payouts/{id}/{what}/");
        async move { admin_post(app, &path, body).await }
    };

    // Every payout is marked paid; every other one races a failure (the
    // wire bounced) against its payment, twice over.
    let marks = ids.iter().enumerate().flat_map(|(i, id)| {
        let mut these = vec![mark(id, "mark-paid"), mark(id, "mark-paid")];
        if i % 2 == 1 {
            these.extend([mark(id, "mark-failed"), mark(id, "mark-failed")]);
        }
        these
    });
    let answers = join_all(marks).await;
    assert!(answers.iter().all(|(s, _)| *s == 200 || *s == 409), "{answers:?}");
    assert!(paid() >= 8 * 1_000, "the payouts only marked paid are paid");
    assert_eq!(kept(), paid());
    let balance = usd_balance(app).await;
    let paid_major = format!("{}.00", paid() / 100);
    assert_eq!(balance["paid_out"].as_str(), Some(paid_major.as_str()));
    ledger_is_sound(app).await;

    // Then every paid one comes back, each reported twice at once.
    let failures = ids.iter().flat_map(|id| [mark(id, "mark-failed"), mark(id, "mark-failed")]);
    let answers = join_all(failures).await;
    assert!(answers.iter().all(|(s, _)| *s == 200 || *s == 409), "{answers:?}");
    assert_eq!((kept(), paid()), (0, 0));
    let balance = usd_balance(app).await;
    assert_eq!((balance["available"].as_str(), balance["paid_out"].as_str()), (Some("400.00"), Some("0.00")));
    ledger_is_sound(app).await;
}
