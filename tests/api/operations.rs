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
