//! Events out: endpoints registered by admins receive signed events of
//! their mode (live or test money), in order per object, retried and
//! dead-lettered when they fail, replayed on demand; two workers on one
//! database deliver each event exactly once.

use std::sync::Arc;

use adapters_events::{HttpEventSender, SIGNATURE_HEADER, SystemResolver, verify};
use adapters_postgres::{Keyring, PgStore, PoolSettings};
use domain::destinations::Destinations;
use domain::events::RetryPolicy;
use domain::ports::{Gateways, SystemClock, TimeOrderedIds};
use domain::usecases::Role;
use domain::usecases::events::{EventPorts, EventService};
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with, spawn_app_with_gateways};
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
/// instance would have (allowing the loopback receivers of the tests).
fn another_instance(app: &TestApp, retry: RetryPolicy) -> EventService {
    instance_reaching(app, retry, Destinations::PrivateAllowed)
}

/// [`another_instance`] connecting only to the `destinations` it allows.
fn instance_reaching(app: &TestApp, retry: RetryPolicy, destinations: Destinations) -> EventService {
    let key: [u8; 32] = *b"0123456789abcdef0123456789abcdef";
    let store =
        PgStore::connect(app.db.url(), &PoolSettings::default()).unwrap().with_keyring(Keyring::new(key, &[]).unwrap());
    let sender = HttpEventSender::new(std::time::Duration::from_secs(2), destinations).unwrap();
    EventService::new(
        EventPorts {
            store: Arc::new(store),
            sender: Arc::new(sender),
            resolver: Arc::new(SystemResolver),
            clock: Arc::new(SystemClock),
            ids: Arc::new(TimeOrderedIds),
            secrets: Arc::new(adapters_postgres::SystemSecrets::default()),
            gateways: Gateways::new(),
        },
        retry,
        chrono::Duration::seconds(30),
    )
    .with_destinations(destinations)
}

#[tokio::test]
async fn subscribed_events_arrive_signed_and_in_order_per_object() {
    let app = app().await;
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/hooks")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let created =
        endpoint(&app, format!("{}/hooks", server.uri()), json!(["payment.completed", "payment.refunded"])).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    // 256 bits from the system's secure random source, in hex.
    assert!(secret.starts_with("whsec_") && secret.len() == 6 + 64, "{secret}");
    assert!(secret[6..].chars().all(|c| c.is_ascii_hexdigit()), "{secret}");
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
    assert_eq!(
        (report.routed, report.delivered),
        (5, 1),
        "refund.requested, .approved and .processed are not subscribed; payment.refunded waits"
    );
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
    // Refused in development too (production's rules: the tests below).
    let res = post(json!({"url": "ftp://platform.example/hooks"})).await;
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

/// Buys course 1 with `method` as `token`'s holder and confirms it: the
/// completed payment.
#[tokio::test]
async fn a_new_endpoint_backfills_the_events_it_missed_once_within_what_is_kept() {
    let app = app().await;
    let before = chrono::Utc::now() - chrono::Duration::minutes(5);
    let earlier = sale(&app, 1).await;
    refund_fully(&app, &earlier).await;
    // Routed while no endpoint existed: found none, and is kept.
    assert_eq!(app.state.events.deliver_due(50).await.unwrap().delivered, 0);

    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/hooks")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let created =
        endpoint(&app, format!("{}/hooks", server.uri()), json!(["payment.completed", "payment.refunded"])).await;
    let id = created["id"].as_str().unwrap();
    let later = sale(&app, 2).await;
    for _ in 0..3 {
        app.state.events.deliver_due(50).await.unwrap();
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "only the later sale by routing");

    let backfill = format!("/api/payments/admin/event-endpoints/{id}/backfill/");
    let res = app.post(&backfill, &app.admin(), &json!({"from": before})).await;
    assert_eq!(res.status(), 200);
    let queued: Value = res.json().await.unwrap();
    assert_eq!(queued, json!({"queued": 2}), "the earlier sale's two subscribed events; the later one is not doubled");
    for _ in 0..3 {
        app.state.events.deliver_due(50).await.unwrap();
    }
    let bodies: Vec<Value> =
        server.received_requests().await.unwrap().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    let seen: Vec<(&str, &str)> =
        bodies.iter().map(|b| (b["type"].as_str().unwrap(), b["data"]["object"]["id"].as_str().unwrap())).collect();
    assert_eq!(
        seen,
        [
            ("payment.completed", later.as_str()),
            ("payment.completed", earlier.as_str()),
            ("payment.refunded", earlier.as_str())
        ]
    );
    let again: Value = app.post(&backfill, &app.admin(), &json!({"from": before})).await.json().await.unwrap();
    assert_eq!(again, json!({"queued": 0}), "a backfill never doubles a delivery");

    let too_old = chrono::Utc::now() - chrono::Duration::days(31);
    let res = app.post(&backfill, &app.admin(), &json!({"from": too_old})).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(
        (problem["code"].as_str(), problem["errors"][0]["field"].as_str()),
        (Some("validation_failed"), Some("from"))
    );
    let res = app.post(&backfill, &app.admin(), &json!({"from": before, "to": before})).await;
    assert_eq!(res.status(), 422, "an empty window");
    let removed = app
        .request(reqwest::Method::DELETE, &format!("/api/payments/admin/event-endpoints/{id}/"), Some(&app.admin()))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    assert_eq!(app.post(&backfill, &app.admin(), &json!({"from": before})).await.status(), 404, "a removed endpoint");
}

async fn paid_with(app: &TestApp, token: &str, method: &str, payment_token: &str) -> Value {
    let created = app.post("/api/payments/", token, &json!({"course_id": 1, "payment_method": method})).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let path = format!("/api/payments/{}/confirm/", created["id"].as_str().unwrap());
    let confirmed: Value = app.post(&path, token, &json!({"payment_token": payment_token})).await.json().await.unwrap();
    assert_eq!(confirmed["status"], "completed", "{confirmed}");
    confirmed
}

/// A receiver answering 200 at `/hooks`.
async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/hooks")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    server
}

/// What `server` received: (type, object id, top-level livemode), sorted.
async fn received(server: &MockServer) -> Vec<(String, String, Option<bool>)> {
    let mut seen: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let object = body["data"]["object"]["id"].as_str().unwrap().to_owned();
            (body["type"].as_str().unwrap().to_owned(), object, body["livemode"].as_bool())
        })
        .collect();
    seen.sort();
    seen
}

#[tokio::test]
async fn each_endpoint_receives_only_the_events_of_its_mode_and_both_receive_events_of_none() {
    let live_gateway = crate::live_wallet::live_wallet();
    let app = spawn_app_with_gateways(&[("SKILLPAY_ENCRYPTION_KEY", KEY)], vec![live_gateway]).await;
    app.put_course(1, "40.00", "USD").await;
    let (live_server, test_server) = (receiver().await, receiver().await);
    let register = |url: String, mode: Option<bool>| {
        let body = match mode {
            Some(livemode) => json!({"url": url, "livemode": livemode}),
            None => json!({"url": url}),
        };
        let app = &app;
        async move {
            let res = app.post("/api/payments/admin/event-endpoints/", &app.admin(), &body).await;
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()
        }
    };
    // Naming no mode while a live gateway is served: live.
    let live = register(format!("{}/hooks", live_server.uri()), None).await;
    let test = register(format!("{}/hooks", test_server.uri()), Some(false)).await;
    assert_eq!((live["livemode"].as_bool(), test["livemode"].as_bool()), (Some(true), Some(false)));
    let listed: Value = app.get("/api/payments/admin/event-endpoints/", &app.admin()).await.json().await.unwrap();
    let modes: Vec<(&str, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["livemode"].as_bool().unwrap()))
        .collect();
    assert_eq!(modes, [(test["id"].as_str().unwrap(), false), (live["id"].as_str().unwrap(), true)]);

    // A test purchase (an admin may use the sandbox next to live gateways)
    // and a live one.
    let sandbox = paid_with(&app, &app.admin(), "sandbox", "sandbox_success").await;
    let wallet = paid_with(&app, &app.token(1000, Role::Student), "wallet", "ok").await;
    assert_eq!((sandbox["livemode"].as_bool(), wallet["livemode"].as_bool()), (Some(false), Some(true)));
    // An event about an object of no mode, as a coupon is.
    let none = app
        .store
        .scalar(
            "WITH written AS (INSERT INTO outbox_events (id, event_type, aggregate_id, payload, created_at) \
             VALUES (gen_random_uuid(), 'coupon.exhausted', 'cpn_nomode', '{\"id\": \"cpn_nomode\"}', now()) \
             RETURNING 1) SELECT count(*) AS n FROM written",
        )
        .unwrap();
    assert_eq!(none, 1);

    let report = app.state.events.deliver_due(50).await.unwrap();
    assert_eq!((report.routed, report.delivered), (3, 4), "{report:?}");
    let completed = |payment: &Value, livemode: bool| {
        ("payment.completed".to_owned(), payment["id"].as_str().unwrap().to_owned(), Some(livemode))
    };
    let coupon = ("coupon.exhausted".to_owned(), "cpn_nomode".to_owned(), None);
    assert_eq!(received(&live_server).await, [coupon.clone(), completed(&wallet, true)]);
    assert_eq!(received(&test_server).await, [coupon, completed(&sandbox, false)]);
}

#[tokio::test]
async fn an_endpoint_naming_no_mode_receives_test_events_while_only_test_gateways_are_served() {
    let app = app().await;
    let server = receiver().await;
    let created = endpoint(&app, format!("{}/hooks", server.uri()), json!([])).await;
    assert_eq!(created["livemode"], false, "development serves test money only");
    let chosen: Value = app
        .post(
            "/api/payments/admin/event-endpoints/",
            &app.admin(),
            &json!({"url": format!("{}/live", server.uri()), "livemode": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(chosen["livemode"], true, "an admin may choose either mode");
    let res = app
        .post("/api/payments/admin/event-endpoints/", &app.admin(), &json!({"url": server.uri(), "livemode": "live"}))
        .await;
    assert_eq!(res.status(), 422);

    let payment = sale(&app, 1).await;
    let report = app.state.events.deliver_due(50).await.unwrap();
    assert_eq!(report.delivered, 1, "the sandbox sale reaches the test endpoint only");
    assert_eq!(received(&server).await, [("payment.completed".to_owned(), payment, Some(false))]);
}

#[tokio::test]
async fn a_delivery_of_another_mode_than_its_endpoint_is_not_replayed() {
    let app = app().await;
    let server = receiver().await;
    let created = endpoint(&app, format!("{}/hooks", server.uri()), json!(["payment.completed"])).await;
    sale(&app, 1).await;
    assert_eq!(app.state.events.deliver_due(50).await.unwrap().delivered, 1);
    // As a test event delivered to an endpoint registered before endpoints
    // had modes, which became live.
    let endpoint_id = created["id"].as_str().unwrap().parse::<domain::ids::EndpointId>().unwrap().uuid();
    let flipped = app
        .store
        .scalar(&format!(
            "WITH flipped AS (UPDATE event_endpoints SET livemode = true WHERE id = '{endpoint_id}' RETURNING 1) \
             SELECT count(*) AS n FROM flipped"
        ))
        .unwrap();
    assert_eq!(flipped, 1);
    let delivered: Value = app.get("/api/payments/admin/event-deliveries/", &app.admin()).await.json().await.unwrap();
    let id = delivered["data"][0]["id"].as_str().unwrap();

    let res = app.post(&format!("/api/payments/admin/event-deliveries/{id}/replay/"), &app.admin(), &json!({})).await;
    assert_eq!(res.status(), 409);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "delivery_mode_mismatch");
    let detail: Value =
        app.get(&format!("/api/payments/admin/event-deliveries/{id}/"), &app.admin()).await.json().await.unwrap();
    assert_eq!(detail["status"], "delivered", "nothing changed");
    assert_eq!(app.state.events.deliver_due(50).await.unwrap().delivered, 0);
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "sent once, before");
}

#[tokio::test]
async fn a_removed_endpoint_receives_nothing_more_not_even_a_retry_or_a_replay() {
    let app = app().await;
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/down")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let created = endpoint(&app, format!("{}/down", server.uri()), json!(["payment.completed"])).await;
    sale(&app, 1).await;
    let report = app.state.events.deliver_due(50).await.unwrap();
    assert_eq!(report.retried, 1, "{report:?}");

    let id = created["id"].as_str().unwrap();
    let res =
        app.request(reqwest::Method::DELETE, &format!("/api/payments/admin/event-endpoints/{id}/"), Some(&app.admin()));
    assert_eq!(res.send().await.unwrap().status(), 200);
    // Its pending retry is given up at once, and no worker claims it.
    app.store.scalar("WITH due AS (UPDATE event_deliveries SET next_attempt_at = now() RETURNING 1) SELECT count(*) AS n FROM due").unwrap();
    let report = app.state.events.deliver_due(50).await.unwrap();
    assert_eq!((report.delivered, report.retried, report.dead), (0, 0, 0), "{report:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "only the attempt before the removal");
    let dead: Value =
        app.get("/api/payments/admin/event-deliveries/?status=dead", &app.admin()).await.json().await.unwrap();
    let rows = dead["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["last_error"], "the endpoint was removed");
    let replay = format!("/api/payments/admin/event-deliveries/{}/replay/", rows[0]["id"].as_str().unwrap());
    let res = app.post(&replay, &app.admin(), &json!({})).await;
    assert_eq!(res.status(), 409);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_transition", "{problem}");
}

/// An app as production runs it: event endpoints to public https hosts only.
async fn production_app() -> TestApp {
    spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY), ("SKILLPAY_EVENT_ENDPOINTS_ALLOW_PRIVATE", "off")]).await
}

#[tokio::test]
async fn endpoints_naming_metadata_loopback_or_private_addresses_are_refused_outside_development() {
    let app = production_app().await;
    let register = |url: &str| {
        let (app, body) = (&app, json!({"url": url}));
        async move {
            let res = app.post("/api/payments/admin/event-endpoints/", &app.admin(), &body).await;
            let status = res.status().as_u16();
            assert_eq!(res.headers()["content-type"], "application/problem+json");
            (status, res.json::<Value>().await.unwrap())
        }
    };
    for url in [
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/",
        "https://127.0.0.1:8443/hooks",
        "https://10.0.0.1/hooks",
        "https://100.64.0.1/hooks",
        "https://[fd00::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://0x7f.1/hooks",
        // `.invalid` never resolves: nothing to check, so nothing accepted.
        "https://receiver.invalid/hooks",
    ] {
        let (status, problem) = register(url).await;
        assert_eq!((status, problem["code"].as_str()), (422, Some("endpoint_url_forbidden")), "{url}: {problem}");
        assert!(!problem["detail"].as_str().unwrap().contains("169.254"), "the answer names no address: {problem}");
    }
    // The loopback check of old passed this one, which connects to the
    // metadata address in plain text; http outside development too.
    for url in ["http://localhost:1@169.254.169.254/", "https://user:pw@platform.example/", "http://127.0.0.1:9/"] {
        let (status, problem) = register(url).await;
        assert_eq!(
            (status, problem["code"].as_str(), problem["errors"][0]["field"].as_str()),
            (422, Some("validation_failed"), Some("url")),
            "{url}: {problem}"
        );
    }
    let stored = app.store.scalar("SELECT count(*) AS n FROM event_endpoints").unwrap();
    assert_eq!(stored, 0, "nothing was stored");
}

#[tokio::test]
async fn a_delivery_to_a_host_that_now_resolves_to_loopback_is_refused_and_recorded_as_a_category() {
    // Registered where private destinations are allowed, as a name that
    // resolved to a public address at registration and was rebound since.
    let app = app().await;
    let server = receiver().await;
    let port = server.address().port();
    let created = endpoint(&app, format!("http://localhost:{port}/hooks"), json!(["payment.completed"])).await;
    assert_eq!(created["url"], format!("http://localhost:{port}/hooks"));
    sale(&app, 1).await;

    let production = instance_reaching(&app, RetryPolicy::default(), Destinations::PublicOnly);
    let report = production.deliver_due(50).await.unwrap();
    assert_eq!((report.delivered, report.retried), (0, 1), "{report:?}");
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing reached the loopback receiver");

    let listed: Value = app.get("/api/payments/admin/event-deliveries/", &app.admin()).await.json().await.unwrap();
    let delivery = &listed["data"][0];
    assert_eq!(delivery["last_error"], "destination address not allowed", "{delivery}");
    assert_eq!(delivery["last_status"], Value::Null);
    let path = format!("/api/payments/admin/event-deliveries/{}/", delivery["id"].as_str().unwrap());
    let detail: Value = app.get(&path, &app.admin()).await.json().await.unwrap();
    assert_eq!(detail["attempt_log"][0]["error"], "destination address not allowed", "{detail}");
}
