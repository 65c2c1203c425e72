//! Fraud controls end to end: velocity rules hold under concurrent
//! attempts, the block list refuses before any gateway call, and every
//! change an admin makes is audited.

use domain::usecases::Role;
use domain::usecases::reconciliation::SweepPolicy;
use futures::future::join_all;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app, spawn_app_for_races};

/// Buys a course of 30.00 USD nobody has bought (a buyer holds a course
/// once, and these suites buy many times as one user).
async fn buy(app: &TestApp, user: i64, email: Option<&str>) -> (u16, Value) {
    let course = app.fresh_id();
    app.put_course(course, "30.00", "USD").await;
    let mut body = json!({"course_id": course, "payment_method": "sandbox"});
    if let Some(email) = email {
        body["billing_email"] = json!(email);
    }
    let res = app.post("/api/payments/", &app.token(user, Role::Student), &body).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

/// Creates a payment and pays it with a declined card; answers the
/// creation's status.
async fn declined_attempt(app: &TestApp, user: i64) -> (u16, Value) {
    let (status, body) = buy(app, user, None).await;
    if status == 201 {
        let id = body["id"].as_str().unwrap();
        let res = app
            .post(
                &format!("/api/payments/{id}/confirm/"),
                &app.token(user, Role::Student),
                &json!({"payment_token": "sandbox_decline"}),
            )
            .await;
        assert_eq!(res.status(), 200);
        let paid: Value = res.json().await.unwrap();
        assert_eq!(paid["status"], "failed", "a declined card: {paid}");
    }
    (status, body)
}

async fn admin_post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let res = app.post(path, &app.admin(), &body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn assert_refused_without_internals(status: u16, body: &Value, rule_name: &str) {
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "payment_refused_by_rules", "{body}");
    assert!(!body.to_string().contains(rule_name), "the payer is not told which rule: {body}");
}

#[tokio::test]
async fn sixteen_parallel_declines_cannot_get_past_a_limit_of_five_and_the_user_is_stopped() {
    let app = spawn_app_for_races().await;
    app.put_course(1, "30.00", "USD").await;
    let rule = json!({"name": "card testing: 5 declines in 10 minutes", "subject": "user", "signal": "declines",
        "limit": 5, "window_seconds": 600, "action": "refuse", "stop_seconds": 3600});
    let (status, created) = admin_post(&app, "/api/payments/admin/fraud/rules/", rule).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"].as_str().unwrap().split('_').next(), Some("frr"));

    let attempts = join_all((0..16).map(|_| declined_attempt(&app, 1000))).await;
    let through = attempts.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(through, 5, "{attempts:?}");
    for (status, body) in attempts.iter().filter(|(status, _)| *status != 201) {
        assert_refused_without_internals(*status, body, "card testing");
    }
    // Only the five let through reached the gateway, and all were declined.
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payments WHERE user_id = 1000").unwrap(), 5);
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payments WHERE status = 'failed'").unwrap(), 5);

    // With five confirmed declines the next attempt stops the user for an hour.
    let (status, body) = buy(&app, 1000, None).await;
    assert_refused_without_internals(status, &body, "card testing");
    let blocks: Value = app.get("/api/payments/admin/fraud/blocks/", &app.admin()).await.json().await.unwrap();
    let stops: Vec<&Value> = blocks.as_array().unwrap().iter().filter(|b| b["value"] == "1000").collect();
    assert_eq!(stops.len(), 1, "{blocks}");
    assert_eq!((&stops[0]["subject"], &stops[0]["rule_id"]), (&json!("user"), &created["id"]));
    assert!(stops[0]["expires_at"].is_string() && stops[0]["created_by"].is_null(), "{blocks}");

    // The admins see why; other buyers are not affected.
    let decisions: Value =
        app.get("/api/payments/admin/fraud/decisions/?user_id=1000", &app.admin()).await.json().await.unwrap();
    let decisions = decisions.as_array().unwrap();
    assert_eq!(decisions.len(), 12, "eleven refused in the race, one after");
    assert!(decisions.iter().all(|d| d["outcome"] == "refuse"));
    let why = decisions[0]["fired"][0]["why"].as_str().unwrap();
    assert!(why.contains("5 declines for this user in 600 s; limit 5"), "{why}");
    assert_eq!(buy(&app, 2000, None).await.0, 201);

    // Removing the stop lets the user in again only once the declines
    // leave the window: they still count.
    let stop_id = stops[0]["id"].as_str().unwrap();
    let removed = app
        .request(reqwest::Method::DELETE, &format!("/api/payments/admin/fraud/blocks/{stop_id}/"), Some(&app.admin()))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(buy(&app, 1000, None).await.0, 403);
}

/// Confirms `payment` of `user` with `token`; answers the status and body.
async fn confirm(app: &TestApp, user: i64, payment: &str, token: &str) -> (u16, Value) {
    let res = app
        .post(
            &format!("/api/payments/{payment}/confirm/"),
            &app.token(user, Role::Student),
            &json!({"payment_token": token}),
        )
        .await;
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn sixteen_parallel_declines_of_one_card_cannot_get_past_a_limit_of_five_and_the_card_is_stopped() {
    let app = spawn_app_for_races().await;
    app.put_course(1, "30.00", "USD").await;
    let rule = json!({"name": "stolen card: 5 declines in 10 minutes", "subject": "card_fingerprint",
        "signal": "declines", "limit": 5, "window_seconds": 600, "action": "refuse", "stop_seconds": 3600});
    let (status, created) = admin_post(&app, "/api/payments/admin/fraud/rules/", rule).await;
    assert_eq!(status, 201, "{created}");
    // Sixteen buyers, each with a payment of their own, all paying with one card.
    let mut payments = Vec::new();
    for user in 3000..3016 {
        let (status, body) = buy(&app, user, None).await;
        assert_eq!(status, 201, "{body}");
        payments.push((user, body["id"].as_str().unwrap().to_owned()));
    }
    let confirms =
        join_all(payments.iter().map(|(user, id)| confirm(&app, *user, id, "sandbox_decline:stolen1"))).await;
    let declined = confirms.iter().filter(|(status, body)| *status == 200 && body["status"] == "failed").count();
    assert_eq!(declined, 5, "{confirms:?}");
    for (status, body) in confirms.iter().filter(|(status, _)| *status != 200) {
        assert_refused_without_internals(*status, body, "stolen card");
    }
    // A refused card leaves its payment open for another card.
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payments WHERE status = 'failed'").unwrap(), 5);
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payments WHERE status = 'pending'").unwrap(), 11);
    let refused = confirms.iter().position(|(status, _)| *status == 403).unwrap();
    let (user, open) = &payments[refused];
    let (status, body) = confirm(&app, *user, open, "sandbox_success:stolen1").await;
    assert_refused_without_internals(status, &body, "stolen card");
    let blocks: Value = app.get("/api/payments/admin/fraud/blocks/", &app.admin()).await.json().await.unwrap();
    let stops: Vec<&Value> = blocks.as_array().unwrap().iter().filter(|b| b["value"] == "sbxstolen1").collect();
    assert_eq!(stops.len(), 1, "the card is stopped once: {blocks}");
    assert_eq!((&stops[0]["subject"], &stops[0]["rule_id"]), (&json!("card_fingerprint"), &created["id"]));
    let (status, body) = confirm(&app, *user, open, "sandbox_success:other2").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("completed")), "another card pays: {body}");
    let decisions: Value = app
        .get(&format!("/api/payments/admin/fraud/decisions/?user_id={user}"), &app.admin())
        .await
        .json()
        .await
        .unwrap();
    let why = decisions[0]["fired"][0]["why"].as_str().unwrap_or_default();
    assert!(why.contains("declines for this card_fingerprint in 600 s; limit 5"), "{decisions}");
}

#[tokio::test]
async fn a_card_rule_can_hold_the_payment_for_review_instead() {
    let app = spawn_app().await;
    app.put_course(1, "30.00", "USD").await;
    let rule = json!({"name": "second use of a card within a day", "subject": "card_fingerprint",
        "signal": "attempts", "limit": 1, "window_seconds": 86400, "action": "review"});
    assert_eq!(admin_post(&app, "/api/payments/admin/fraud/rules/", rule).await.0, 201);
    let mut statuses = Vec::new();
    for user in [4000, 4001] {
        let (status, body) = buy(&app, user, None).await;
        assert_eq!(status, 201, "{body}");
        let (status, paid) = confirm(&app, user, body["id"].as_str().unwrap(), "sandbox_success:shared9").await;
        assert_eq!(status, 200, "{paid}");
        statuses.push(paid["status"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(statuses, ["completed", "in_review"], "the card's second use is held");
}

#[tokio::test]
async fn a_block_refuses_before_any_gateway_call_until_it_is_removed() {
    let app = spawn_app().await;
    app.put_course(1, "30.00", "USD").await;
    let (status, block) = admin_post(
        &app,
        "/api/payments/admin/fraud/blocks/",
        json!({"subject": "email", "value": "Thief@Example.com", "reason": "stolen cards, chargebacks"}),
    )
    .await;
    assert_eq!(status, 201, "{block}");
    assert_eq!(block["value"], "thief@example.com");

    let (status, body) = buy(&app, 1000, Some("THIEF@example.com")).await;
    assert_refused_without_internals(status, &body, "stolen");
    assert_eq!(app.count("payments").await, 0, "nothing stored, no gateway called");
    assert_eq!(buy(&app, 1000, Some("someone@example.com")).await.0, 201);

    // An address range refuses every address in it (the tests' client is
    // 127.0.0.1), and an expired entry refuses nobody.
    let (status, range) = admin_post(
        &app,
        "/api/payments/admin/fraud/blocks/",
        json!({"subject": "client_address", "value": "127.0.0.0/8", "reason": "abuse from this network"}),
    )
    .await;
    assert_eq!((status, range["value"].as_str()), (201, Some("127.0.0.0/8")), "{range}");
    assert_eq!(buy(&app, 3000, None).await.0, 403);
    let range_id = range["id"].as_str().unwrap();
    let removed = app
        .request(reqwest::Method::DELETE, &format!("/api/payments/admin/fraud/blocks/{range_id}/"), Some(&app.admin()))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(buy(&app, 3000, None).await.0, 201);

    // Bad entries are refused with the field named.
    for bad in [
        json!({"subject": "client_address", "value": "not-an-address", "reason": "x"}),
        json!({"subject": "planet", "value": "mars", "reason": "x"}),
        json!({"subject": "user", "value": "7", "reason": ""}),
        json!({"subject": "user", "value": "7", "reason": "x", "expires_at": "2001-01-01T00:00:00Z"}),
    ] {
        let (status, body) = admin_post(&app, "/api/payments/admin/fraud/blocks/", bad).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");
    }
    // Every change is in the audit log with the admin who made it.
    let audited = app
        .store
        .scalar("SELECT count(*) AS n FROM audit_log WHERE object_kind = 'fraud_block' AND actor_role = 'admin'")
        .unwrap();
    assert_eq!(audited, 3, "two entries added, one removed");
}

#[tokio::test]
async fn rules_are_edited_and_deleted_by_admins_and_audited() {
    let app = spawn_app().await;
    app.put_course(1, "30.00", "USD").await;
    let rule = json!({"name": "two attempts a minute", "subject": "client_address", "signal": "attempts",
        "limit": 2, "window_seconds": 60, "action": "refuse"});
    let (status, created) = admin_post(&app, "/api/payments/admin/fraud/rules/", rule.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(buy(&app, 1, None).await.0, 201);
    assert_eq!(buy(&app, 2, None).await.0, 201);
    assert_eq!(buy(&app, 3, None).await.0, 403, "the third attempt from one address in a minute");

    let id = created["id"].as_str().unwrap();
    let mut disabled = rule.clone();
    disabled["enabled"] = json!(false);
    let res = app
        .request(reqwest::Method::PUT, &format!("/api/payments/admin/fraud/rules/{id}/"), Some(&app.admin()))
        .json(&disabled)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(buy(&app, 3, None).await.0, 201, "a disabled rule fires no more");

    for bad in [
        json!({"name": "x", "subject": "card_fingerprint", "signal": "refunds", "limit": 2, "window_seconds": 60, "action": "review"}),
        json!({"name": "x", "subject": "user", "signal": "declines", "limit": 0, "window_seconds": 60, "action": "refuse"}),
        json!({"name": "x", "subject": "user", "signal": "declines", "limit": 2, "window_seconds": 60, "action": "review", "stop_seconds": 60}),
    ] {
        let (status, body) = admin_post(&app, "/api/payments/admin/fraud/rules/", bad).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "{body}");
    }
    let deleted = app
        .request(reqwest::Method::DELETE, &format!("/api/payments/admin/fraud/rules/{id}/"), Some(&app.admin()))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let listed: Value = app.get("/api/payments/admin/fraud/rules/", &app.admin()).await.json().await.unwrap();
    assert_eq!(listed, json!([]));
    let operations = app
        .store
        .scalar("SELECT count(*) AS n FROM audit_log WHERE object_kind = 'fraud_rule' AND actor_id IS NOT NULL")
        .unwrap();
    assert_eq!(operations, 3, "created, changed, deleted");
    // Students cannot read the rules.
    assert_eq!(app.get("/api/payments/admin/fraud/rules/", &app.token(1, Role::Student)).await.status(), 403);
}

/// Sets a rule that sends every attempt of a user after their first in ten
/// minutes to review.
async fn review_after_first_attempt(app: &TestApp) {
    let rule = json!({"name": "second purchase in ten minutes", "subject": "user", "signal": "attempts",
        "limit": 1, "window_seconds": 600, "action": "review"});
    assert_eq!(admin_post(app, "/api/payments/admin/fraud/rules/", rule).await.0, 201);
}

/// Buys course 1 and pays it; answers the payment after payment.
async fn bought_and_paid(app: &TestApp, user: i64) -> Value {
    let (status, created) = buy(app, user, None).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/api/payments/{id}/confirm/"),
            &app.token(user, Role::Student),
            &json!({"payment_token": "sandbox_success"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn balance(app: &TestApp, account: &str) -> String {
    let path = format!("/api/payments/admin/ledger/{account}/?currency=USD&limit=1");
    let body: Value = app.get(&path, &app.admin()).await.json().await.unwrap();
    body["balance"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

fn completed_events(app: &TestApp, payment: &str) -> i64 {
    app.store
        .scalar(&format!(
            "SELECT count(*) AS n FROM outbox_events WHERE event_type = 'payment.completed' \
             AND aggregate_id = '{payment}'"
        ))
        .unwrap()
}

#[tokio::test]
async fn a_held_payment_takes_the_money_but_completes_no_sale_until_an_admin_releases_it() {
    let app = spawn_app().await;
    app.put_course(1, "30.00", "USD").await;
    review_after_first_attempt(&app).await;
    assert_eq!(bought_and_paid(&app, 1000).await["status"], "completed", "the first attempt is not reviewed");

    let held = bought_and_paid(&app, 1000).await;
    assert_eq!(held["status"], "in_review", "{held}");
    let id = held["id"].as_str().unwrap();
    assert_eq!(completed_events(&app, id), 0, "no enrollment while held");
    let held_events: Vec<String> =
        app.store.outbox_events_for(id.to_owned()).await.unwrap().into_iter().map(|e| e.event_type).collect();
    assert_eq!(held_events, ["payment.held"], "the platform and the admins are told it is held");
    assert_eq!(balance(&app, "payments_in_review").await, "-30.00", "owed to the payer");
    assert_eq!(balance(&app, "instructor_pending:100").await, "-24.00", "only the first sale's earnings");
    let queue: Value = app.get("/api/payments/?status=in_review", &app.admin()).await.json().await.unwrap();
    assert_eq!(queue["data"].as_array().map(Vec::len), Some(1), "{queue}");
    let decisions: Value = app
        .get(&format!("/api/payments/admin/fraud/decisions/?payment_id={id}"), &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(decisions[0]["outcome"], "review", "{decisions}");
    assert!(decisions[0]["fired"][0]["why"].as_str().unwrap().contains("1 attempts for this user"));
    // A webhook or sweep repeating the gateway's success changes nothing.
    let again = app.state.payments.complete(id.parse().unwrap()).await.unwrap();
    assert_eq!(again.status.as_str(), "in_review");
    // Only admins decide.
    let student = app
        .post(&format!("/api/payments/{id}/review/"), &app.token(1000, Role::Student), &json!({"decision": "release"}))
        .await;
    assert_eq!(student.status(), 403);

    let (status, released) =
        admin_post(&app, &format!("/api/payments/{id}/review/"), json!({"decision": "release"})).await;
    assert_eq!((status, released["status"].as_str()), (200, Some("completed")), "{released}");
    assert_eq!(completed_events(&app, id), 1, "the sale completes once released");
    assert_eq!(balance(&app, "payments_in_review").await, "0.00");
    assert_eq!(balance(&app, "instructor_pending:100").await, "-48.00");
    let (status, repeated) =
        admin_post(&app, &format!("/api/payments/{id}/review/"), json!({"decision": "release"})).await;
    assert_eq!((status, repeated["status"].as_str()), (200, Some("completed")));
    assert_eq!(completed_events(&app, id), 1, "released once");
    let (status, refused) =
        admin_post(&app, &format!("/api/payments/{id}/review/"), json!({"decision": "refund", "reason": "late"})).await;
    assert_eq!(status, 409, "a released payment is no longer held: {refused}");
    let audited = app
        .store
        .scalar("SELECT count(*) AS n FROM console_audit_log WHERE action = 'payment.review.release'")
        .unwrap();
    assert_eq!(audited, 2);
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}

#[tokio::test]
async fn a_held_payment_nobody_releases_is_refunded_in_full_and_an_admin_may_refund_one_sooner() {
    let app = spawn_app().await;
    app.put_course(1, "30.00", "USD").await;
    review_after_first_attempt(&app).await;
    bought_and_paid(&app, 1000).await;
    let expiring = bought_and_paid(&app, 1000).await;
    let refused = bought_and_paid(&app, 1000).await;
    assert_eq!((expiring["status"].as_str(), refused["status"].as_str()), (Some("in_review"), Some("in_review")));
    assert_eq!(balance(&app, "payments_in_review").await, "-60.00");

    // An admin refuses one: the money goes back whole.
    let id = refused["id"].as_str().unwrap();
    let (status, body) = admin_post(&app, &format!("/api/payments/{id}/review/"), json!({"decision": "refund"})).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_failed")), "a refusal needs its reason");
    let (status, body) = admin_post(
        &app,
        &format!("/api/payments/{id}/review/"),
        json!({"decision": "refund", "reason": "stolen card"}),
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("refunded")), "{body}");

    // Within the deadline the sweep leaves the other one alone; past it,
    // the sweep refunds it.
    let report = app.state.payments.refund_expired_holds(chrono::Duration::hours(72), 50).await.unwrap();
    assert_eq!(report.refunded, 0);
    let report = app.state.payments.refund_expired_holds(chrono::Duration::zero(), 50).await.unwrap();
    assert_eq!((report.refunded, report.failed.len()), (1, 0), "{report:?}");
    let expired: Value = app
        .get(&format!("/api/payments/{}/", expiring["id"].as_str().unwrap()), &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((expired["status"].as_str(), expired["refunded_amount"].as_str()), (Some("refunded"), Some("30.00")));
    let origins = app
        .store
        .scalar("SELECT count(*) AS n FROM refunds WHERE origin = 'review' AND status = 'processed' AND amount_minor = 3000")
        .unwrap();
    assert_eq!(origins, 2);
    assert_eq!(completed_events(&app, expiring["id"].as_str().unwrap()), 0, "never sold");

    // The held money went back to the payers; the instructor earned only
    // the first sale, even once its earnings are released.
    assert_eq!(balance(&app, "payments_in_review").await, "0.00");
    assert_eq!(balance(&app, "instructor_pending:100").await, "-24.00");
    app.store
        .scalar("UPDATE payments SET completed_at = completed_at - interval '60 days' RETURNING 0::bigint AS n")
        .ok();
    app.state.payouts.release_due_earnings(100).await.unwrap();
    assert_eq!(balance(&app, "instructor_payable:100").await, "-24.00");
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}

#[tokio::test]
async fn a_serial_refunders_request_shows_their_history_and_takes_two_admins() {
    let app = spawn_app().await;
    app.put_course(1, "30.00", "USD").await;
    let rule = json!({"name": "serial refunder", "subject": "user", "signal": "refunds",
        "limit": 2, "window_seconds": 7_776_000, "action": "review"});
    let (status, created) = admin_post(&app, "/api/payments/admin/fraud/rules/", rule).await;
    assert_eq!(status, 201, "{created}");
    let student = app.token(1000, Role::Student);
    let mut refunds = Vec::new();
    for _ in 0..3 {
        let paid = bought_and_paid(&app, 1000).await;
        let (status, refund) = {
            let res = app
                .post(
                    "/api/payments/refunds/",
                    &student,
                    &json!({"payment_id": paid["id"], "reason": "changed my mind"}),
                )
                .await;
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        };
        assert_eq!(status, 201, "{refund}");
        assert!(refund.get("payer_history").is_none(), "the payer does not see their screening: {refund}");
        refunds.push(refund["id"].as_str().unwrap().to_owned());
    }
    let admin_view = |id: &str| {
        let app = &app;
        let path = format!("/api/payments/refunds/{id}/");
        async move { app.get(&path, &app.admin()).await.json::<Value>().await.unwrap() }
    };
    let first = admin_view(&refunds[0]).await;
    assert_eq!(first["needs_two_admins"], false);
    assert_eq!(first["payer_history"], json!({"refunds_90d": 0, "paid_90d": 1, "refund_rate_percent": 0}));
    let third = admin_view(&refunds[2]).await;
    assert_eq!(third["needs_two_admins"], true, "{third}");
    assert_eq!(third["payer_history"], json!({"refunds_90d": 2, "paid_90d": 3, "refund_rate_percent": 66}));

    // Below every amount threshold, the flagged request still takes two admins.
    let approve = |id: &str, token: String| {
        let app = &app;
        let path = format!("/api/payments/refunds/{id}/approve/");
        async move {
            let res = app.post(&path, &token, &json!({})).await;
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(approve(&refunds[0], app.admin()).await.0, 200, "one admin is enough for the first");
    let (status, body) = approve(&refunds[2], app.admin()).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("second_approval_required")), "{body}");
    let (status, body) = approve(&refunds[2], app.token(2, Role::Admin)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("processed")), "{body}");
    let decisions: Value =
        app.get("/api/payments/admin/fraud/decisions/?user_id=1000", &app.admin()).await.json().await.unwrap();
    let why = decisions[0]["fired"][0]["why"].as_str().unwrap();
    assert!(why.contains("2 refunds by this user") && why.contains("66 % of 3 paid"), "{why}");
}

/// Buys and pays through the test gateway, whose charges are rated highest
/// risk with card `tgcard1`, then lets the sweep read its fee and verdict.
async fn paid_through_the_test_gateway(app: &TestApp) -> String {
    // A buyer of their own each time: a buyer holds a course once.
    let student = app.token(app.fresh_id(), Role::Student);
    let created = crate::registered_gateway::buy(app, &student).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let paid = app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "ok"})).await;
    assert_eq!(paid.status(), 200);
    let report = app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();
    assert_eq!(report.fees_recorded, 1, "{report:?}");
    id
}

fn attention_details(app: &TestApp) -> i64 {
    app.store.scalar("SELECT count(*) AS n FROM attention_items WHERE kind = 'risky_payment'").unwrap()
}

#[tokio::test]
async fn the_gateways_risk_verdict_is_recorded_for_admins_and_a_highest_risk_or_blocked_card_needs_attention() {
    let (app, _) = crate::registered_gateway::app_with_test_gateway().await;
    let id = paid_through_the_test_gateway(&app).await;
    let admin: Value = app.get(&format!("/api/payments/{id}/"), &app.admin()).await.json().await.unwrap();
    assert_eq!(
        admin["risk"],
        json!({"level": "highest", "score": 97, "card_fingerprint": "tgcard1", "seller_protection": null})
    );
    let payer = app.token(admin["user_id"].as_i64().unwrap(), Role::Student);
    let payer: Value = app.get(&format!("/api/payments/{id}/"), &payer).await.json().await.unwrap();
    assert!(payer.get("risk").is_none(), "the payer is not shown the verdict: {payer}");
    assert_eq!(attention_details(&app), 1);
    let detail = app
        .store
        .scalar("SELECT count(*) AS n FROM attention_items WHERE detail LIKE '%highest risk (score 97)%'")
        .unwrap();
    assert_eq!(detail, 1);

    // A card on the block list is named as such.
    let (status, _) = admin_post(
        &app,
        "/api/payments/admin/fraud/blocks/",
        json!({"subject": "card_fingerprint", "value": "tgcard1", "reason": "reported stolen"}),
    )
    .await;
    assert_eq!(status, 201);
    paid_through_the_test_gateway(&app).await;
    let blocked = app
        .store
        .scalar("SELECT count(*) AS n FROM attention_items WHERE detail = 'paid with a blocked card (reported stolen)'")
        .unwrap();
    assert_eq!(blocked, 1);
}

#[tokio::test]
async fn the_sweep_prunes_attempt_slots_no_rule_can_count_any_more() {
    let app = spawn_app().await;
    app.put_course(1, "30.00", "USD").await;
    assert_eq!(buy(&app, 1000, Some("a@example.com")).await.0, 201);
    assert_eq!(buy(&app, 1001, None).await.0, 201);
    let slots = || app.store.scalar("SELECT count(*) AS n FROM fraud_attempts").unwrap();
    assert_eq!(slots(), 5, "user, address and e-mail; user and address");
    assert_eq!(app.state.fraud.prune_attempts(100).await.unwrap(), 0, "recent slots are kept");
    app.store
        .scalar(
            "WITH aged AS (UPDATE fraud_attempts SET created_at = created_at - interval '91 days' \
                 WHERE payment_id IN (SELECT id FROM payments WHERE user_id = 1000) RETURNING 1) \
                 SELECT count(*) AS n FROM aged",
        )
        .unwrap();
    assert_eq!(app.state.fraud.prune_attempts(100).await.unwrap(), 3);
    assert_eq!(slots(), 2);
}
