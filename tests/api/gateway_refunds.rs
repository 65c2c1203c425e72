//! Refunds made in Stripe's dashboard reach the ledger: localstripe holds
//! the refunds, signed webhooks report them, and Skillpay re-reads the
//! payment's refunds at localstripe before recording anything.

use domain::usecases::Role;
use futures::future::join_all;
use serde_json::{Value, json};
use skillpay_e2e::{LocalStripe, TestApp, spawn_app_with};

const WEBHOOK_SECRET: &str = "whsec_e2e_refunds";

async fn app_on(stripe: &LocalStripe) -> TestApp {
    let settings = [
        ("STRIPE_SECRET_KEY", "sk_test_local"),
        ("STRIPE_API_BASE", stripe.base.as_str()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ];
    let app = spawn_app_with(&settings).await;
    app.put_course(1, "49.99", "USD").await;
    app
}

/// A completed 49.99 Stripe payment: its id and its PaymentIntent.
async fn paid(app: &TestApp, student: &str) -> (String, String) {
    let res = app.post("/api/payments/", student, &json!({"course_id": 1, "payment_method": "stripe"})).await;
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let confirmed: Value = app
        .post(&format!("/api/payments/{id}/confirm/"), student, &json!({"payment_token": "pm_card_visa"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(confirmed["status"], "completed", "{confirmed}");
    (id, created["provider_payment_id"].as_str().unwrap().to_owned())
}

/// Delivers a signed Stripe event; answers the HTTP status.
async fn deliver(app: &TestApp, event: Value) -> u16 {
    app.deliver_stripe_event(&event, WEBHOOK_SECRET).await
}

fn refund_created(event_id: &str, refund_id: &str) -> Value {
    json!({"id": event_id, "object": "event", "type": "refund.created",
           "data": {"object": {"id": refund_id, "object": "refund"}}})
}

fn charge_refunded(event_id: &str, intent: &str) -> Value {
    json!({"id": event_id, "object": "event", "type": "charge.refunded",
           "data": {"object": {"id": "ch_any", "object": "charge", "payment_intent": intent}}})
}

async fn payment(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/payments/{id}/"), &app.admin()).await.json().await.unwrap()
}

async fn refunds_of(app: &TestApp, id: &str) -> Vec<Value> {
    let page: Value =
        app.get(&format!("/api/payments/refunds/?payment_id={id}"), &app.admin()).await.json().await.unwrap();
    page["data"].as_array().unwrap().clone()
}

async fn clearing(app: &TestApp) -> i64 {
    app.store.account_balance("gateway_clearing:stripe".into(), "USD".into(), false).await.unwrap()
}

async fn ledger_holds(app: &TestApp) {
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}

#[tokio::test]
async fn a_dashboard_refund_of_part_then_of_the_rest_reaches_the_ledger() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let student = app.token(1000, Role::Student);
    let (id, intent) = paid(&app, &student).await;

    let first = stripe.refund_in_dashboard(&intent, 10_00).await;
    assert_eq!(deliver(&app, refund_created("evt_r1", first["id"].as_str().unwrap())).await, 200);

    let read = payment(&app, &id).await;
    assert_eq!(
        (read["status"].as_str(), read["refunded_amount"].as_str()),
        (Some("partially_refunded"), Some("10.00"))
    );
    let refunds = refunds_of(&app, &id).await;
    assert_eq!(refunds.len(), 1);
    assert_eq!((refunds[0]["origin"].as_str(), refunds[0]["status"].as_str()), (Some("gateway"), Some("processed")));
    assert_eq!(refunds[0]["amount"], "10.00");
    assert_eq!(refunds[0]["provider_refund_id"], first["id"]);
    assert_eq!(refunds[0]["livemode"], false, "a Stripe test key's money is test money");
    assert_eq!(clearing(&app).await, 39_99);
    ledger_holds(&app).await;

    // The rest, reported by the charge: its list decides the amounts.
    stripe.refund_in_dashboard(&intent, 39_99).await;
    assert_eq!(deliver(&app, charge_refunded("evt_r2", &intent)).await, 200);
    // A replay, and the first event again, change nothing.
    assert_eq!(deliver(&app, charge_refunded("evt_r3", &intent)).await, 200);
    assert_eq!(deliver(&app, refund_created("evt_r4", first["id"].as_str().unwrap())).await, 200);

    let read = payment(&app, &id).await;
    assert_eq!((read["status"].as_str(), read["refunded_amount"].as_str()), (Some("refunded"), Some("49.99")));
    assert_eq!(refunds_of(&app, &id).await.len(), 2);
    assert_eq!(clearing(&app).await, 0);
    // The whole fee went back: the platform keeps nothing of this sale.
    assert_eq!(app.store.account_balance("platform_revenue".into(), "USD".into(), false).await.unwrap(), 0);
    assert_eq!(
        app.store
            .scalar(
                "SELECT count(*) AS n FROM outbox_events WHERE event_type IN ('refund.processed', 'payment.refunded')"
            )
            .unwrap(),
        3,
        "two refund.processed and one payment.refunded"
    );
    ledger_holds(&app).await;
}

#[tokio::test]
async fn concurrent_deliveries_of_one_dashboard_refund_record_it_once() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let student = app.token(1000, Role::Student);
    let (id, intent) = paid(&app, &student).await;
    let refund = stripe.refund_in_dashboard(&intent, 20_00).await;
    let refund_id = refund["id"].as_str().unwrap().to_owned();

    let deliveries = (0..12).map(|n| {
        let event = if n % 2 == 0 {
            refund_created(&format!("evt_c{n}"), &refund_id)
        } else {
            charge_refunded(&format!("evt_c{n}"), &intent)
        };
        let app = &app;
        async move { deliver(app, event).await }
    });
    let statuses = join_all(deliveries).await;

    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(refunds_of(&app, &id).await.len(), 1);
    assert_eq!(payment(&app, &id).await["refunded_amount"], "20.00");
    assert_eq!(clearing(&app).await, 29_99);
    ledger_holds(&app).await;
}

#[tokio::test]
async fn a_dashboard_refund_racing_a_skillpay_refund_never_refunds_more_than_was_paid() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let student = app.token(1000, Role::Student);
    let (id, intent) = paid(&app, &student).await;
    let asked: Value = app
        .post(
            "/api/payments/refunds/",
            &student,
            &json!({"payment_id": id, "amount": "30.00", "reason": "changed my mind"}),
        )
        .await
        .json()
        .await
        .unwrap();
    // localstripe, unlike Stripe, refunds more than the charge: both go
    // through there, and only Skillpay's records keep to the amount paid.
    let dashboard = stripe.refund_in_dashboard(&intent, 30_00).await;

    let (approve_path, admin, no_note) =
        (format!("/api/payments/refunds/{}/approve/", asked["id"].as_str().unwrap()), app.admin(), json!({}));
    let approve = app.post(&approve_path, &admin, &no_note);
    let webhook = deliver(&app, refund_created("evt_race", dashboard["id"].as_str().unwrap()));
    let (_, webhook_status) = futures::join!(approve, webhook);

    assert_eq!(webhook_status, 200, "the gateway must not retry forever");
    let read = payment(&app, &id).await;
    assert_eq!(read["refunded_amount"], "30.00", "{read}");
    let processed: Vec<Value> =
        refunds_of(&app, &id).await.into_iter().filter(|r| r["status"] == "processed").collect();
    assert_eq!(processed.len(), 1, "{processed:?}");
    ledger_holds(&app).await;
}

#[tokio::test]
async fn a_refund_above_what_is_left_is_acknowledged_and_needs_attention() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let student = app.token(1000, Role::Student);
    let (id, intent) = paid(&app, &student).await;
    let first = stripe.refund_in_dashboard(&intent, 40_00).await;
    assert_eq!(deliver(&app, refund_created("evt_a1", first["id"].as_str().unwrap())).await, 200);
    // localstripe lets this one exceed the charge; Stripe would not.
    let second = stripe.refund_in_dashboard(&intent, 20_00).await;

    assert_eq!(deliver(&app, refund_created("evt_a2", second["id"].as_str().unwrap())).await, 200);

    assert_eq!(refunds_of(&app, &id).await.len(), 1);
    assert_eq!(payment(&app, &id).await["refunded_amount"], "40.00");
    let attention = app
        .store
        .scalar("SELECT count(*) AS n FROM payment_webhook_logs WHERE event_id = 'evt_a2' AND processed AND needs_attention IS NOT NULL")
        .unwrap();
    assert_eq!(attention, 1);
    ledger_holds(&app).await;
}

#[tokio::test]
async fn a_refund_of_a_payment_skillpay_does_not_know_is_acknowledged_and_needs_attention() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;

    assert_eq!(deliver(&app, charge_refunded("evt_u1", "pi_elsewhere")).await, 200);

    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM refunds").unwrap(), 0);
    let note = app
        .store
        .scalar("SELECT count(*) AS n FROM payment_webhook_logs WHERE needs_attention LIKE '%pi_elsewhere%'")
        .unwrap();
    assert_eq!(note, 1);
}

#[tokio::test]
async fn a_ticket_wholly_refunded_in_the_dashboard_frees_its_seat() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let event = json!({"title": "Live Q&A", "price": "20.00", "currency": "USD", "instructor_id": 100,
        "active": true, "capacity": 3});
    let res = app
        .request(reqwest::Method::PUT, "/api/payments/catalog/events/1/", Some(&app.admin()))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let seats_left = || async {
        let event: Value = app.get("/api/payments/catalog/events/1/", &app.admin()).await.json().await.unwrap();
        event["seats_left"].clone()
    };
    let student = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"event_id": 1, "payment_method": "stripe"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let confirm = json!({"payment_token": "pm_card_visa"});
    let paid = app.post(&format!("/api/payments/{id}/confirm/"), &student, &confirm).await;
    assert_eq!(paid.status(), 200);
    assert_eq!(seats_left().await, 2);

    let intent = created["provider_payment_id"].as_str().unwrap();
    stripe.refund_in_dashboard(intent, 20_00).await;
    assert_eq!(deliver(&app, charge_refunded("evt_t1", intent)).await, 200);
    assert_eq!(payment(&app, id).await["status"], "refunded");
    assert_eq!(seats_left().await, 3, "the refunded ticket's seat is free again");
}
