use domain::usecases::Role;
use serde_json::Value;
use skillpay_e2e::spawn_app;

#[tokio::test]
async fn the_openapi_document_is_3_1_and_lists_every_route() {
    let app = spawn_app().await;
    let doc: Value =
        app.client.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/payments/",
        "/api/payments/{id}/",
        "/api/payments/{id}/cancel/",
        "/api/payments/{id}/confirm/",
        "/api/payments/coupons/",
        "/api/payments/coupons/{id}/",
        "/api/payments/coupons/validate/",
        "/api/payments/catalog/{kind}/{id}/",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // Every secured operation documents 401 and 503 as problem+json.
    let create = &doc["paths"]["/api/payments/"]["post"]["responses"];
    assert!(create["401"]["content"]["application/problem+json"].is_object(), "{create}");
    assert!(create["503"].is_object());
    // List filters are query parameters, not path parameters.
    for list in ["/api/payments/", "/api/payments/refunds/", "/api/payments/coupons/", "/api/payments/disputes/"] {
        let parameters = doc["paths"][list]["get"]["parameters"].as_array().unwrap();
        assert!(!parameters.is_empty(), "{list}");
        assert!(parameters.iter().all(|p| p["in"] == "query" && p["required"] != true), "{list}: {parameters:?}");
    }
}

#[tokio::test]
async fn the_docs_page_is_served_with_its_assets_from_the_binary() {
    let app = spawn_app().await;
    let page = app.client.get(format!("{}/api/docs/", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"));
    assert!(!html.contains("https://"), "the docs page loads something from the internet");
    let css = app.client.get(format!("{}/api/docs/swagger-ui.css", app.base)).send().await.unwrap();
    assert_eq!(css.status(), 200);
}

#[tokio::test]
async fn when_the_database_is_gone_requests_get_503_problem_json_and_readiness_says_so() {
    let app = spawn_app().await;
    let ready = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    app.db.drop_now();
    let ready = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let res = app.get("/api/payments/", &app.token(1, Role::Student)).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "service_unavailable");
    assert!(!problem["detail"].as_str().unwrap().contains("skillpay_test"), "the cause leaked: {problem}");
    let live = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(live.status(), 200);
}

#[tokio::test]
async fn metrics_expose_requests_by_route_payments_and_lags_and_requests_carry_ids() {
    let app = skillpay_e2e::spawn_app_with(&[("SKILLPAY_METRICS_TOKEN", "scrape-token")]).await;
    app.put_course(1, "10.00", "USD").await;
    let student = app.token(1000, Role::Student);
    let res = app
        .request(reqwest::Method::POST, "/api/payments/", Some(&student))
        .header("X-Request-Id", "req-42")
        .json(&serde_json::json!({"course_id": 1, "payment_method": "sandbox"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "req-42", "a client's id is echoed");
    let fresh = app.get("/api/payments/", &student).await;
    assert_eq!(fresh.headers()["x-request-id"].len(), 36, "else a new one is made");

    assert_eq!(app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().status(), 401);
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth("scrape-token")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"skillpay_http_request_duration_seconds_count{method="POST",route="/api/payments/",status="201"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"skillpay_payments{status="pending"} 1"#), "{text}");
    for gauge in ["skillpay_outbox_lag_seconds", "skillpay_event_delivery_lag_seconds", "skillpay_webhook_lag_seconds"]
    {
        assert!(text.contains(gauge), "{gauge} missing");
    }
}

/// A TCP forwarder to PostgreSQL that can be cut (every connection dropped,
/// new ones refused) and restored on the same port: a database outage.
struct Outage {
    port: u16,
    target: String,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The forwarded connections, shut down (and waited for) by a cut.
    connections: std::sync::Arc<tokio::sync::Mutex<tokio::task::JoinSet<()>>>,
}

impl Outage {
    async fn start(target: String) -> Outage {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut outage = Outage { port, target, task: None, connections: Default::default() };
        outage.serve(listener);
        outage
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let target = self.target.clone();
        let connections = self.connections.clone();
        self.task = Some(tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { break };
                let target = target.clone();
                connections.lock().await.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }));
    }

    /// The database is gone: open connections are cut, new ones refused.
    /// Returns once every forwarded connection is closed: an abort only
    /// asks, and a request sent meanwhile could still get through.
    async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        self.connections.lock().await.shutdown().await;
    }

    /// The database is back on the same address.
    async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

// Multi-threaded: the forwarder's tasks must run while the test blocks on
// a query that goes through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_database_outage_service_resumes_within_seconds_and_nothing_is_applied_twice() {
    let db = tokio::task::spawn_blocking(adapters_postgres::testing::TestDb::new).await.unwrap();
    let target = db.url().split('@').nth(1).unwrap().split('/').next().unwrap().to_owned();
    let mut outage = Outage::start(target.clone()).await;
    let proxied = db.url().replacen(&target, &format!("127.0.0.1:{}", outage.port), 1);
    let app = skillpay_e2e::spawn_app_with(&[("DATABASE_URL", &proxied)]).await;
    app.put_course(1, "10.00", "USD").await;
    let student = app.token(1000, Role::Student);
    assert_eq!(app.get("/api/payments/", &student).await.status(), 200);

    outage.cut().await;
    let started = std::time::Instant::now();
    let res = app.get("/api/payments/", &student).await;
    assert_eq!(res.status(), 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(8), "answered, not hung");
    let body = serde_json::json!({"course_id": 1, "payment_method": "sandbox"});
    let refused = app.post("/api/payments/", &student, &body).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(app.client.get(format!("{}/readyz", app.base)).send().await.unwrap().status(), 503);

    outage.restore().await;
    let back = std::time::Instant::now();
    let patient = reqwest::Client::builder().timeout(std::time::Duration::from_secs(3)).build().unwrap();
    loop {
        let ready = patient.get(format!("{}/readyz", app.base)).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(back.elapsed() < std::time::Duration::from_secs(10), "service did not resume");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.post("/api/payments/", &student, &body).await.status(), 201);
    // The refused request wrote nothing; the accepted one, once.
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payments").unwrap(), 1);
}

#[tokio::test]
async fn the_api_docs_can_be_kept_off_the_public_listener() {
    let app = skillpay_e2e::spawn_app_with(&[("SKILLPAY_API_DOCS", "off")]).await;
    for path in ["/api/openapi.json", "/api/docs/"] {
        let res = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    let health = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(health.status(), 200, "the rest is served as before");
}
