use domain::usecases::Role;
use reqwest::Method;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app};

async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let res =
        app.request(method, path, Some(token)).header("content-type", content_type).body(body).send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert_eq!(content_type, "application/problem+json", "{path} answered {status}");
    (status, res.json().await.unwrap())
}

async fn nothing_written(app: &TestApp) {
    for table in ["payments", "coupons", "coupon_redemptions", "ledger_entries", "outbox_events"] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
}

#[tokio::test]
async fn malformed_json_and_wrong_media_types_are_refused() {
    let app = spawn_app().await;
    let student = app.token(1, Role::Student);
    let (status, problem) =
        raw(&app, Method::POST, "/api/payments/", &student, "application/json", b"{\"course_id\": 1,".to_vec()).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("malformed_json")));
    let (status, problem) = raw(&app, Method::POST, "/api/payments/", &student, "text/plain", b"{}".to_vec()).await;
    assert_eq!((status, problem["code"].as_str()), (415, Some("unsupported_media_type")));
    let (status, problem) = raw(
        &app,
        Method::POST,
        "/api/payments/",
        &student,
        "application/json",
        br#"{"course_id": "one", "payment_method": "sandbox"}"#.to_vec(),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
    let (status, problem) = raw(
        &app,
        Method::POST,
        "/api/payments/",
        &student,
        "application/json",
        br#"{"course_id": 1, "event_id": 2, "payment_method": "cash"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 422);
    let fields: Vec<_> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    assert_eq!(fields, ["course_id", "payment_method"]);
    nothing_written(&app).await;
}

#[tokio::test]
async fn bad_amounts_and_currencies_are_refused_never_rounded() {
    let app = spawn_app().await;
    let admin = app.admin();
    for (price, currency, field) in [
        ("10.999", "USD", "price"),
        ("1.5", "JPY", "price"),
        ("-1.00", "USD", "price"),
        ("1e3", "USD", "price"),
        ("NaN", "USD", "price"),
        ("", "USD", "price"),
        ("1000000.01", "USD", "price"),
        ("99999999999999999999", "USD", "price"),
        ("10.00", "XYZ", "currency"),
        ("10.00", "usd", "currency"),
    ] {
        let body = json!({"title": "t", "price": price, "currency": currency, "instructor_id": 100, "active": true});
        let res = app
            .request(Method::PUT, "/api/payments/catalog/courses/1/", Some(&admin))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{price} {currency}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    for (value, kind) in
        [("10.001", "fixed"), ("-5", "percentage"), ("0", "percentage"), ("100.5", "percentage"), ("1e1", "percentage")]
    {
        let body = json!({"code": "BAD", "discount_type": kind, "discount_value": value, "currency": "USD"});
        let res = app.post("/api/payments/coupons/", &admin, &body).await;
        assert_eq!(res.status(), 422, "{value} {kind}");
    }
    assert_eq!(app.count("catalog_items").await, 0);
    nothing_written(&app).await;
}

#[tokio::test]
async fn an_oversize_body_is_413_problem_json() {
    let app = spawn_app().await;
    let student = app.token(1, Role::Student);
    let huge =
        format!("{{\"course_id\": 1, \"payment_method\": \"sandbox\", \"billing_name\": \"{}\"}}", "x".repeat(200_000));
    let (status, problem) =
        raw(&app, Method::POST, "/api/payments/", &student, "application/json", huge.into_bytes()).await;
    assert_eq!((status, problem["code"].as_str()), (413, Some("payload_too_large")));
    nothing_written(&app).await;
}

#[tokio::test]
async fn unknown_routes_and_ids_answer_problem_json() {
    let app = spawn_app().await;
    let student = app.token(1, Role::Student);
    let (status, problem) =
        raw(&app, Method::GET, "/api/nothing-here/", &student, "application/json", Vec::new()).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("route_not_found")));
    let (status, problem) =
        raw(&app, Method::GET, "/api/payments/pay_not-an-id/", &student, "application/json", Vec::new()).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
    let (status, problem) = raw(&app, Method::DELETE, "/api/payments/", &student, "application/json", Vec::new()).await;
    assert_eq!((status, problem["code"].as_str()), (405, Some("method_not_allowed")));
    let allow = app.request(Method::PATCH, "/api/payments/pay_x/cancel/", Some(&student)).send().await.unwrap();
    assert_eq!(allow.headers()["allow"], "POST");
    let coupons = app.request(Method::PATCH, "/api/payments/coupons/", Some(&student)).send().await.unwrap();
    assert_eq!(coupons.headers()["allow"], "GET, POST");
    let (status, problem) =
        raw(&app, Method::GET, "/api/payments/?limit=abc", &student, "application/json", Vec::new()).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_query")));
}

#[tokio::test]
async fn buying_an_unknown_or_inactive_item_writes_nothing() {
    let app = spawn_app().await;
    let student = app.token(1, Role::Student);
    let res = app.post("/api/payments/", &student, &json!({"course_id": 5, "payment_method": "sandbox"})).await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "item_not_found");
    let body = json!({"title": "Old", "price": "5.00", "currency": "USD", "instructor_id": 100, "active": false});
    app.request(Method::PUT, "/api/payments/catalog/courses/5/", Some(&app.admin())).json(&body).send().await.unwrap();
    let res = app.post("/api/payments/", &student, &json!({"course_id": 5, "payment_method": "sandbox"})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "item_inactive");
    let res = app.post("/api/payments/", &student, &json!({"course_id": 5, "payment_method": "wallet"})).await;
    assert_eq!(res.status(), 422);
    nothing_written(&app).await;
}

#[tokio::test]
async fn nul_characters_out_of_range_cursors_and_huge_limits_are_client_errors() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (status, problem) = raw(
        &app,
        Method::PUT,
        "/api/payments/catalog/courses/77/",
        &admin,
        "application/json",
        br#"{"title":"x\u0000","price":"1.00","currency":"USD","instructor_id":100,"active":true}"#.to_vec(),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")));
    let (status, problem) = raw(
        &app,
        Method::GET,
        "/api/payments/?cursor=-210866803200000001.00000000000000000000000000000000",
        &admin,
        "application/json",
        Vec::new(),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_query")));
    let res = app
        .post(
            "/api/payments/coupons/",
            &admin,
            &json!({"code": "BIG1", "discount_type": "percentage", "discount_value": "10", "max_uses": 2_147_483_648_u64}),
        )
        .await;
    assert_eq!(res.status(), 422);
    nothing_written(&app).await;
}

#[tokio::test]
async fn a_page_size_outside_one_to_a_hundred_is_refused_not_clamped() {
    let app = spawn_app().await;
    let admin = app.admin();
    for path in
        ["/api/payments/", "/api/payments/disputes/", "/api/payments/admin/ledger/platform_revenue/?currency=USD"]
    {
        let sep = if path.contains('?') { '&' } else { '?' };
        for limit in ["0", "101", "4294967296"] {
            let res = app.get(&format!("{path}{sep}limit={limit}"), &admin).await;
            assert_eq!(res.status(), 400, "{path} limit={limit}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["code"], "invalid_query");
        }
        assert_eq!(app.get(&format!("{path}{sep}limit=100"), &admin).await.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn a_webhook_for_no_gateway_is_not_found_and_an_unconfigured_gateway_fails_closed() {
    let app = spawn_app().await;
    let post = |gateway: &'static str| {
        app.request(Method::POST, &format!("/api/payments/webhooks/{gateway}/"), None)
            .header("content-type", "application/json")
            .body(r#"{"id":"evt_1"}"#)
            .send()
    };
    let unknown = post("adyen").await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], "not_found");
    // The test server runs the sandbox only: PayPal is a gateway, not configured.
    let closed = post("paypal").await.unwrap();
    assert_eq!(closed.status(), 503);
    assert_eq!(closed.json::<Value>().await.unwrap()["code"], "webhook_not_configured");
    nothing_written(&app).await;
}
