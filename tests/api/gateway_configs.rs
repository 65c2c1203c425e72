use std::collections::BTreeMap;

use domain::gateway_config::{GatewayCredentials, GatewayMode};
use domain::ids::UserId;
use domain::payment::PaymentMethod;
use domain::usecases::gateway_configs::PutGatewayConfig;
use domain::usecases::{Actor, Role};
use reqwest::Method;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app, spawn_app_with};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// base64 of 32 bytes of 0x2a.
const KEY: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";
const SECRET: &str = "sk_test_very_secret_4242";

async fn put(app: &TestApp, token: &str, path: &str, body: &Value) -> (u16, String) {
    let res = app.request(Method::PUT, path, Some(token)).json(body).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

fn stripe_body(active: bool) -> Value {
    json!({"is_active": active, "credentials": {"secret_key": SECRET, "webhook_secret": "whsec_a,whsec_b"},
           "api_base": "http://127.0.0.1:12111"})
}

#[tokio::test]
async fn stored_credentials_are_sealed_write_only_and_used_at_start_up() {
    let app = spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY)]).await;
    let (status, body) =
        put(&app, &app.admin(), "/api/payments/admin/gateway-configs/stripe/test/", &stripe_body(true)).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(SECRET) && !body.contains("whsec_a"), "a secret came back: {body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(view["credential_names"], json!(["secret_key", "webhook_secret"]));
    let list = app.get("/api/payments/admin/gateway-configs/", &app.admin()).await.text().await.unwrap();
    assert!(list.contains("\"provider\":\"stripe\"") && !list.contains(SECRET));
    // Not readable at rest.
    let in_clear = app
        .store
        .scalar(&format!(
            "SELECT count(*) AS n FROM payment_gateway_configs WHERE position('{SECRET}' in encode(credentials_encrypted, 'escape')) > 0"
        ))
        .unwrap();
    assert_eq!(in_clear, 0);
    // A restart with the same key uses it.
    let mut config = app.config.clone();
    app::apply_stored_gateway_configs(&mut config, &app.store).await.unwrap();
    assert_eq!(config.stripe_secret_key.as_deref(), Some(SECRET));
    assert_eq!(config.stripe_webhook_secrets, ["whsec_a", "whsec_b"]);
    assert_eq!(config.stripe_api_base, "http://127.0.0.1:12111");
}

#[tokio::test]
async fn activating_the_live_configuration_deactivates_the_test_one() {
    let app = spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY)]).await;
    put(&app, &app.admin(), "/api/payments/admin/gateway-configs/stripe/test/", &stripe_body(true)).await;
    let mut live = stripe_body(true);
    live["credentials"]["secret_key"] = json!("sk_live_very_secret_4242");
    live["api_base"] = json!("https://api.stripe.com");
    let path = "/api/payments/admin/gateway-configs/stripe/live/";
    // Live credentials take two admins asking for the same change.
    let (status, body) = put(&app, &app.admin(), path, &live).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("second_approval_required") && !body.contains("very_secret"), "{body}");
    let mut other_key = live.clone();
    other_key["credentials"]["secret_key"] = json!("sk_live_another_one_4242");
    assert_eq!(put(&app, &app.token(2, Role::Admin), path, &other_key).await.0, 409, "not the same change");
    assert_eq!(put(&app, &app.token(2, Role::Admin), path, &live).await.0, 200);
    // Switching the live configuration off is an emergency stop: one admin.
    let mut off = live.clone();
    off["is_active"] = json!(false);
    assert_eq!(put(&app, &app.token(3, Role::Admin), path, &off).await.0, 200);
    assert_eq!(put(&app, &app.token(2, Role::Admin), path, &live).await.0, 200, "the approved change again");
    let list: Value = app.get("/api/payments/admin/gateway-configs/", &app.admin()).await.json().await.unwrap();
    let active: Vec<_> =
        list.as_array().unwrap().iter().filter(|c| c["is_active"] == true).map(|c| c["mode"].clone()).collect();
    assert_eq!(active, [json!("live")]);
}

#[tokio::test]
async fn bad_configurations_are_refused_and_nothing_is_stored() {
    let app = spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY)]).await;
    let admin = app.admin();
    let cases = [
        ("/api/payments/admin/gateway-configs/stripe/test/", json!({"is_active": true, "credentials": {}}), 422),
        (
            "/api/payments/admin/gateway-configs/stripe/test/",
            json!({"is_active": true, "credentials": {"secret_key": "x", "password": "y"}}),
            422,
        ),
        (
            "/api/payments/admin/gateway-configs/stripe/test/",
            json!({"is_active": true, "credentials": {"secret_key": "x"}, "api_base": "ftp://x"}),
            422,
        ),
        ("/api/payments/admin/gateway-configs/sandbox/test/", json!({"is_active": true, "credentials": {}}), 404),
        ("/api/payments/admin/gateway-configs/stripe/staging/", stripe_body(true), 404),
    ];
    for (path, body, expected) in cases {
        let (status, text) = put(&app, &admin, path, &body).await;
        assert_eq!(status, expected, "{path} {body}: {text}");
        assert!(!text.contains(SECRET));
    }
    let (status, _) =
        put(&app, &app.token(5, Role::Student), "/api/payments/admin/gateway-configs/stripe/test/", &stripe_body(true))
            .await;
    assert_eq!(status, 403);
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payment_gateway_configs").unwrap(), 0);
}

#[tokio::test]
async fn without_an_encryption_key_credentials_are_never_stored() {
    let app = spawn_app().await;
    let (status, body) =
        put(&app, &app.admin(), "/api/payments/admin/gateway-configs/stripe/test/", &stripe_body(true)).await;
    assert_eq!(status, 503);
    assert!(body.contains("encryption_not_configured"));
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payment_gateway_configs").unwrap(), 0);
}

#[tokio::test]
async fn a_stripe_key_is_stored_only_under_its_own_mode() {
    let app = spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY)]).await;
    let mut live = stripe_body(true);
    live["credentials"]["secret_key"] = json!("sk_live_very_secret_4242");
    for (path, body) in [
        ("/api/payments/admin/gateway-configs/stripe/live/", stripe_body(true)),
        ("/api/payments/admin/gateway-configs/stripe/test/", live.clone()),
    ] {
        let res = app.request(Method::PUT, path, Some(&app.admin())).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{path}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "validation_failed");
        assert!(!problem.to_string().contains("very_secret"), "the key never appears in the answer: {problem}");
    }
    let stored = || app.store.scalar("SELECT count(*) AS n FROM payment_gateway_configs").unwrap();
    assert_eq!(stored(), 0, "nothing stored");
    // Live keys go to Stripe's own API only, never to a stand-in in plaintext.
    let (status, body) = put(&app, &app.admin(), "/api/payments/admin/gateway-configs/stripe/live/", &live).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("\"api_base\"") && !body.contains("very_secret"), "{body}");
    live.as_object_mut().unwrap().remove("api_base");
    assert_eq!(put(&app, &app.admin(), "/api/payments/admin/gateway-configs/stripe/live/", &live).await.0, 409);
    assert_eq!(stored(), 0, "nothing stored on the first admin's request");
    let second = app.token(2, Role::Admin);
    assert_eq!(put(&app, &second, "/api/payments/admin/gateway-configs/stripe/live/", &live).await.0, 200);
    assert_eq!(stored(), 1);
}

/// A Stripe stand-in that opens PaymentIntent `intent` for requests
/// authorised by `key` only.
async fn intents_for(stripe: &MockServer, key: &str, intent: &str) {
    let body = json!({"id": intent, "object": "payment_intent", "status": "requires_payment_method",
                      "amount": 4999, "currency": "usd", "client_secret": format!("{intent}_secret_x"),
                      "last_payment_error": null});
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .and(header("authorization", format!("Bearer {key}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(stripe)
        .await;
}

async fn buy_with_stripe(app: &TestApp) -> (u16, Value) {
    // A buyer of their own each time: a buyer holds a course once.
    let student = app.token(app.fresh_id(), Role::Student);
    let res = app.post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "stripe"})).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

/// A Stripe event Skillpay logs and acknowledges without acting on it.
async fn stripe_webhook(app: &TestApp, secret: &str) -> u16 {
    let event = json!({"id": format!("evt_{secret}"), "object": "event", "type": "customer.created",
                       "data": {"object": {"id": "cus_1", "object": "customer"}}});
    app.deliver_stripe_event(&event, secret).await
}

#[tokio::test]
async fn a_stored_stripe_configuration_is_served_from_the_next_request_without_a_restart() {
    let stripe = MockServer::start().await;
    intents_for(&stripe, "sk_test_stored_first", "pi_first").await;
    intents_for(&stripe, "sk_test_stored_second", "pi_second").await;
    // No Stripe in the environment.
    let app = spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY)]).await;
    app.put_course(1, "49.99", "USD").await;
    let (status, problem) = buy_with_stripe(&app).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("payment_method_unavailable")));
    assert_eq!(stripe_webhook(&app, "whsec_stored").await, 503, "no Stripe, no Stripe webhooks");
    let path = "/api/payments/admin/gateway-configs/stripe/test/";
    let configuration = |key: &str, active: bool| {
        json!({"is_active": active, "credentials": {"secret_key": key, "webhook_secret": "whsec_stored"},
               "api_base": stripe.uri()})
    };

    assert_eq!(put(&app, &app.admin(), path, &configuration("sk_test_stored_first", true)).await.0, 200);
    let (status, payment) = buy_with_stripe(&app).await;
    assert_eq!((status, payment["provider_payment_id"].as_str()), (201, Some("pi_first")), "{payment}");
    assert_eq!(stripe_webhook(&app, "whsec_stored").await, 200, "its webhook secret is served too");
    assert_eq!(stripe_webhook(&app, "whsec_other").await, 400);

    // A new key serves the next payment.
    assert_eq!(put(&app, &app.admin(), path, &configuration("sk_test_stored_second", true)).await.0, 200);
    let (status, payment) = buy_with_stripe(&app).await;
    assert_eq!((status, payment["provider_payment_id"].as_str()), (201, Some("pi_second")), "{payment}");

    // Deactivated: the environment's gateways again, which have no Stripe.
    assert_eq!(put(&app, &app.admin(), path, &configuration("sk_test_stored_second", false)).await.0, 200);
    let (status, problem) = buy_with_stripe(&app).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("payment_method_unavailable")));
    assert_eq!(stripe_webhook(&app, "whsec_stored").await, 503);
}

#[tokio::test]
async fn another_instance_serves_a_stored_configuration_at_its_next_refresh() {
    let stripe = MockServer::start().await;
    intents_for(&stripe, "sk_test_from_elsewhere", "pi_elsewhere").await;
    let app = spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY)]).await;
    app.put_course(1, "49.99", "USD").await;
    let configuration = PutGatewayConfig {
        provider: PaymentMethod::Stripe,
        mode: GatewayMode::Test,
        is_active: true,
        credentials: GatewayCredentials::new(BTreeMap::from([(
            "secret_key".to_owned(),
            "sk_test_from_elsewhere".to_owned(),
        )])),
        api_base: Some(stripe.uri()),
    };
    // Stored through a second instance on the same database.
    let other = app::app_state(&app.config, app.store.clone()).unwrap();
    other.gateway_configs.put(Actor::new(UserId::new(1), Role::Admin), configuration).await.unwrap();
    assert_eq!(buy_with_stripe(&app).await.0, 422, "not seen here before the refresh");

    app.state.gateway_configs.refresh().await.unwrap();

    let (status, payment) = buy_with_stripe(&app).await;
    assert_eq!((status, payment["provider_payment_id"].as_str()), (201, Some("pi_elsewhere")), "{payment}");
}
