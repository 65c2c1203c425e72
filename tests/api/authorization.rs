use api_actix::auth::{AuthConfig, Claims};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::ids::UserId;
use domain::usecases::{Actor, Role};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::Method;
use serde_json::{Value, json};
use skillpay_e2e::{TEST_JWT_SECRET, TestApp, spawn_app};

/// Every route taking a payment id, with a body it accepts.
fn payment_routes(id: &str) -> Vec<(Method, String, Value)> {
    vec![
        (Method::GET, format!("/api/payments/{id}/"), Value::Null),
        (Method::POST, format!("/api/payments/{id}/cancel/"), json!({})),
        (Method::POST, format!("/api/payments/{id}/confirm/"), json!({"payment_token": "sandbox_success"})),
    ]
}

/// Every admin-only route, with a body it accepts.
fn admin_routes(coupon_id: &str) -> Vec<(Method, String, Value)> {
    vec![
        (
            Method::POST,
            "/api/payments/coupons/".into(),
            json!({"code": "ADMINONLY", "discount_type": "percentage", "discount_value": "5"}),
        ),
        (Method::GET, "/api/payments/coupons/".into(), Value::Null),
        (Method::GET, format!("/api/payments/coupons/{coupon_id}/"), Value::Null),
        (Method::DELETE, format!("/api/payments/coupons/{coupon_id}/"), Value::Null),
        (
            Method::PUT,
            "/api/payments/catalog/courses/5/".into(),
            json!({"title": "x", "price": "1.00", "currency": "USD", "instructor_id": 100, "active": true}),
        ),
    ]
}

async fn send(app: &TestApp, method: Method, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = app.request(method, path, token);
    if !body.is_null() {
        request = request.json(body);
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if status >= 400 {
        assert_eq!(content_type, "application/problem+json", "{path}");
    }
    (status, body)
}

async fn a_payment_of_user_1000(app: &TestApp) -> String {
    app.put_course(1, "10.00", "USD").await;
    let owner = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &owner, &json!({"course_id": 1, "payment_method": "sandbox"}))
        .await
        .json()
        .await
        .unwrap();
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn another_user_gets_404_on_every_payment_route() {
    let app = spawn_app().await;
    let id = a_payment_of_user_1000(&app).await;
    for token in [app.token(2000, Role::Student), app.token(2001, Role::Instructor)] {
        for (method, path, body) in payment_routes(&id) {
            let (status, problem) = send(&app, method, &path, Some(&token), &body).await;
            assert_eq!(status, 404, "{path}");
            assert_eq!(problem["code"], "not_found");
        }
    }
    // Untouched by the attempts above.
    let (status, payment) =
        send(&app, Method::GET, &format!("/api/payments/{id}/"), Some(&app.admin()), &Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(payment["status"], "pending");
    // Its instructor may read it, but neither pay nor cancel it.
    let instructor = app.token(100, Role::Instructor);
    let (status, _) = send(&app, Method::GET, &format!("/api/payments/{id}/"), Some(&instructor), &Value::Null).await;
    assert_eq!(status, 200);
    for (method, path, body) in payment_routes(&id).into_iter().skip(1) {
        let (status, _) = send(&app, method, &path, Some(&instructor), &body).await;
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test]
async fn students_and_instructors_get_403_on_every_admin_route() {
    let app = spawn_app().await;
    let coupon =
        app.create_coupon(json!({"code": "EXISTING", "discount_type": "percentage", "discount_value": "5"})).await;
    let coupon_id = coupon["id"].as_str().unwrap();
    for token in [app.token(2000, Role::Student), app.token(100, Role::Instructor)] {
        for (method, path, body) in admin_routes(coupon_id) {
            let (status, problem) = send(&app, method, &path, Some(&token), &body).await;
            assert_eq!(status, 403, "{path}");
            assert_eq!(problem["code"], "forbidden");
        }
    }
    assert_eq!(app.count("coupons").await, 1);
    assert_eq!(app.count("catalog_items").await, 0);
    let (status, coupon) =
        send(&app, Method::GET, &format!("/api/payments/coupons/{coupon_id}/"), Some(&app.admin()), &Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(coupon["is_active"], true);
}

fn unsigned_token(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

#[tokio::test]
async fn missing_unsigned_expired_and_wrongly_signed_tokens_get_401() {
    let app = spawn_app().await;
    let far = chrono::Utc::now().timestamp() + 3_600;
    let expired_claims = Claims {
        sub: "1".into(),
        role: Role::Admin,
        exp: 1_000_000_000,
        aud: None,
        iss: None,
        test_mode: false,
        email: None,
        name: None,
        locale: None,
    };
    let expired =
        encode(&Header::new(Algorithm::HS256), &expired_claims, &EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()))
            .unwrap();
    let hs384 = encode(
        &Header::new(Algorithm::HS384),
        &Claims { exp: u64::try_from(far).unwrap(), ..expired_claims.clone() },
        &EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let wrong_secret = AuthConfig::hs256(b"another-secret-another-secret-another", None)
        .mint(Actor::new(UserId::new(1), Role::Admin), 3_600)
        .unwrap();
    let not_a_user = encode(
        &Header::new(Algorithm::HS256),
        &Claims { sub: "admin".into(), exp: u64::try_from(far).unwrap(), ..expired_claims.clone() },
        &EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let none = unsigned_token(&json!({"sub": "1", "role": "admin", "exp": far}));
    let (status, problem) = send(&app, Method::GET, "/api/payments/", None, &Value::Null).await;
    assert_eq!((status, problem["code"].as_str()), (401, Some("authentication_required")));
    for token in [expired, hs384, wrong_secret, not_a_user, none, "garbage".to_owned()] {
        let (status, problem) = send(&app, Method::GET, "/api/payments/coupons/", Some(&token), &Value::Null).await;
        assert_eq!(status, 401, "{token}");
        assert_eq!(problem["code"], "invalid_token");
    }
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused_when_an_audience_is_configured() {
    let app = skillpay_e2e::spawn_app_with(&[("SKILLPAY_JWT_AUDIENCE", "skillpay")]).await;
    let without =
        AuthConfig::hs256(TEST_JWT_SECRET.as_bytes(), None).mint(Actor::new(UserId::new(1), Role::Admin), 600).unwrap();
    let other = AuthConfig::hs256(TEST_JWT_SECRET.as_bytes(), Some("elsewhere".into()))
        .mint(Actor::new(UserId::new(1), Role::Admin), 600)
        .unwrap();
    let right = AuthConfig::hs256(TEST_JWT_SECRET.as_bytes(), Some("skillpay".into()))
        .mint(Actor::new(UserId::new(1), Role::Admin), 600)
        .unwrap();
    assert_eq!(send(&app, Method::GET, "/api/payments/", Some(&without), &Value::Null).await.0, 401);
    assert_eq!(send(&app, Method::GET, "/api/payments/", Some(&other), &Value::Null).await.0, 401);
    assert_eq!(send(&app, Method::GET, "/api/payments/", Some(&right), &Value::Null).await.0, 200);
}

#[tokio::test]
async fn client_sent_amount_status_or_instructor_is_refused() {
    let app = spawn_app().await;
    app.put_course(1, "10.00", "USD").await;
    let student = app.token(1000, Role::Student);
    for (field, value) in [
        ("amount", json!("0.01")),
        ("status", json!("completed")),
        ("instructor_id", json!(1000)),
        ("currency", json!("JPY")),
    ] {
        let mut body = json!({"course_id": 1, "payment_method": "sandbox"});
        body[field] = value;
        let (status, problem) = send(&app, Method::POST, "/api/payments/", Some(&student), &body).await;
        assert_eq!(status, 422, "{field}");
        assert_eq!(problem["code"], "validation_failed");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains(field), "{problem}");
    }
    assert_eq!(app.count("payments").await, 0);
}
