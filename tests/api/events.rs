//! Events out: endpoints registered by admins receive signed events, in
//! order per object, retried and dead-lettered when they fail, replayed on
//! demand; two workers on one database deliver each event exactly once.

use std::sync::Arc;

use adapters_events::{HttpEventSender, SIGNATURE_HEADER, verify};
use adapters_postgres::{Keyring, PgStore, PoolSettings};
use domain::events::RetryPolicy;
use domain::ports::{SystemClock, TimeOrderedIds};
use domain::usecases::Role;
use domain::usecases::events::{EventPorts, EventService};
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

async fn app() -> TestApp {
    spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY)]).await
}

async fn sale(app: &TestApp, course: i64) -> String {
    app.sandbox_sale(course, "40.00").await
}

async fn refund_fully(app: &TestApp, payment: &str) {
    let refund: Value = app
        .post("/api/payments/refunds/", &app.admin(), &json!({"payment_id": payment, "reason": "changed mind"}))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap());
    assert_eq!(app.post(&path, &app.admin(), &json!({})).await.status(), 200);
}

async fn endpoint(app: &TestApp, url: String, types: Value) -> Value {
    let res = app
        .post("/api/payments/admin/event-endpoints/", &app.admin(), &json!({"url": url, "event_types": types}))
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

/// An event service of its own over the app's database, as another
/// instance would have.
fn another_instance(app: &TestApp, retry: RetryPolicy) -> EventService {
    let key: [u8; 32] = *b"0123456789abcdef0123456789abcdef";
    let store =
        PgStore::connect(app.db.url(), &PoolSettings::default()).unwrap().with_keyring(Keyring::new(key, &[]).unwrap());
    let sender = HttpEventSender::new(std::time::Duration::from_secs(2)).unwrap();
    EventService::new(
        EventPorts {
            store: Arc::new(store),
            sender: Arc::new(sender),
            clock: Arc::new(SystemClock),
            ids: Arc::new(TimeOrderedIds),
        },
        retry,
        chrono::Duration::seconds(30),
    )
}

#[tokio::test]
async fn subscribed_events_arrive_signed_and_in_order_per_object() {
    let app = app().await;
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/hooks")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let created =
        endpoint(&app, format!("{}/hooks", server.uri()), json!(["payment.completed", "payment.refunded"])).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() == 38, "{secret}");
    let listed: Value = app.get("/api/payments/admin/event-endpoints/", &app.admin()).await.json().await.unwrap();
    assert_eq!(listed[0]["event_types"], json!(["payment.completed", "payment.refunded"]));
    assert!(listed[0].get("secret").is_none(), "the secret is shown once");
    let stored = app
        .store
        .scalar(&format!(
            "SELECT count(*) AS n FROM event_endpoints WHERE position('{secret}'::bytea IN secret_sealed) > 0"
        ))
        .unwrap();
    assert_eq!(stored, 0, "the secret is sealed at rest");

    let payment = sale(&app, 1).await;
    refund_fully(&app, &payment).await;
    let report = app.state.events.deliver_due(50).await.unwrap();
    assert_eq!((report.routed, report.delivered), (3, 1), "refund.processed is not subscribed; payment.refunded waits");
    let report = app.state.events.deliver_due(50).await.unwrap();
    assert_eq!(report.delivered, 1);

    let received = server.received_requests().await.unwrap();
    let bodies: Vec<Value> = received.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    let types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["payment.completed", "payment.refunded"]);
    assert_eq!(bodies[0]["data"]["object"]["id"], payment.as_str());
    // Sandbox money is test money, and its events say so.
    assert_eq!(
        (bodies[0]["livemode"].as_bool(), bodies[0]["data"]["object"]["livemode"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(bodies[1]["data"]["object"]["status"], "refunded");
    let now = chrono::Utc::now().timestamp();
    for request in &received {
        let header = request.headers.get(SIGNATURE_HEADER).unwrap().to_str().unwrap();
        assert!(verify(&request.body, &secret, header, now, 300));
    }
    let delivered: Value =
        app.get("/api/payments/admin/event-deliveries/?status=delivered", &app.admin()).await.json().await.unwrap();
    assert_eq!(delivered["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn failures_are_retried_then_dead_lettered_and_can_be_replayed() {
    let app = app().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/flaky"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/flaky")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    endpoint(&app, format!("{}/flaky", server.uri()), json!(["payment.completed", "payment.refunded"])).await;
    let payment = sale(&app, 1).await;
    refund_fully(&app, &payment).await;

    // First failure: retried later, and the payment's later events wait.
    let report = app.state.events.deliver_due(50).await.unwrap();
    assert_eq!((report.delivered, report.retried), (0, 1));
    let pending: Value =
        app.get("/api/payments/admin/event-deliveries/?status=pending", &app.admin()).await.json().await.unwrap();
    let rows = pending["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let first = rows.iter().find(|d| d["attempts"] == 1).unwrap();
    assert_eq!((first["event_type"].as_str(), first["last_status"].as_u64()), (Some("payment.completed"), Some(500)));
    let next: chrono::DateTime<chrono::Utc> = first["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert!(next <= chrono::Utc::now() + chrono::Duration::seconds(30), "within the first backoff step");

    // A worker that gives up at once dead-letters the next failure.
    let impatient =
        another_instance(&app, RetryPolicy { give_up_after: chrono::Duration::zero(), ..RetryPolicy::default() });
    app.store.scalar("WITH due AS (UPDATE event_deliveries SET next_attempt_at = now() RETURNING 1) SELECT count(*) AS n FROM due").unwrap();
    let report = impatient.deliver_due(50).await.unwrap();
    assert_eq!(report.dead, 1);
    let id = first["id"].as_str().unwrap();
    let detail: Value =
        app.get(&format!("/api/payments/admin/event-deliveries/{id}/"), &app.admin()).await.json().await.unwrap();
    assert_eq!(detail["status"], "dead");
    assert_eq!(detail["attempt_log"].as_array().unwrap().len(), 2);
    assert_eq!(detail["attempt_log"][1]["response_status"], 500);

    // The dead one no longer holds the object's later events back.
    let report = app.state.events.deliver_due(50).await.unwrap();
    assert_eq!(report.delivered, 1);
    // Replayed, it is delivered now that the endpoint answers.
    let res = app.post(&format!("/api/payments/admin/event-deliveries/{id}/replay/"), &app.admin(), &json!({})).await;
    assert_eq!(res.status(), 200);
    let report = app.state.events.deliver_due(50).await.unwrap();
    assert_eq!(report.delivered, 1, "the replay");
    let dead: Value =
        app.get("/api/payments/admin/event-deliveries/?status=dead", &app.admin()).await.json().await.unwrap();
    assert_eq!(dead["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn two_instances_deliver_every_event_exactly_once() {
    let app = app().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/all"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_millis(5)))
        .mount(&server)
        .await;
    endpoint(&app, format!("{}/all", server.uri()), json!(["payment.completed"])).await;
    for course in 1..=30 {
        sale(&app, course).await;
    }
    let (one, two) = (another_instance(&app, RetryPolicy::default()), another_instance(&app, RetryPolicy::default()));
    let work = |service: EventService| async move {
        let mut delivered = 0;
        for _ in 0..20 {
            delivered += service.deliver_due(4).await.unwrap().delivered;
        }
        delivered
    };
    let (a, b) = tokio::join!(work(one), work(two));
    assert_eq!(a + b, 30);
    assert!(a > 0 && b > 0, "both instances took work: {a} and {b}");
    let received = server.received_requests().await.unwrap();
    let mut ids: Vec<String> = received
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 30);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30, "no event was sent twice");
}

#[tokio::test]
async fn endpoints_are_checked_and_admin_only() {
    let app = app().await;
    let admin = app.admin();
    let post = |body: Value| {
        let (app, admin) = (&app, admin.clone());
        async move { app.post("/api/payments/admin/event-endpoints/", &admin, &body).await }
    };
    let res = post(json!({"url": "http://platform.example/hooks"})).await;
    let problem: Value = res.json().await.unwrap();
    assert_eq!(
        (problem["code"].as_str(), problem["errors"][0]["field"].as_str()),
        (Some("validation_failed"), Some("url"))
    );
    let res = post(json!({"url": "https://platform.example/hooks", "event_types": ["payment.done"]})).await;
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "event_types");
    let student = app.token(1000, Role::Student);
    let res = app.post("/api/payments/admin/event-endpoints/", &student, &json!({"url": "https://x.example"})).await;
    assert_eq!(res.status(), 403);
    let created: Value = post(json!({"url": "https://platform.example/hooks"})).await.json().await.unwrap();
    let path = format!("/api/payments/admin/event-endpoints/{}/", created["id"].as_str().unwrap());
    let removed: Value =
        app.request(reqwest::Method::DELETE, &path, Some(&app.admin())).send().await.unwrap().json().await.unwrap();
    assert_eq!(removed["active"], false);

    let keyless = skillpay_e2e::spawn_app().await;
    let res = keyless
        .post("/api/payments/admin/event-endpoints/", &keyless.admin(), &json!({"url": "https://x.example"}))
        .await;
    assert_eq!(res.status(), 503);
}
