//! Every log line of a run through the secret-bearing flows — at TRACE,
//! libraries included — is captured and searched: no API key, webhook or
//! client secret, token, card-like number, account number, basic
//! credentials, console sign-in link, session cookie or CSRF token appears.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use domain::usecases::Role;
use serde_json::json;
use skillpay_e2e::spawn_app_with;
use tracing_subscriber::fmt::MakeWriter;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

struct Appender(Arc<Mutex<Vec<u8>>>);

impl Write for Appender {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Appender;
    fn make_writer(&'a self) -> Appender {
        Appender(self.0.clone())
    }
}

const STRIPE_KEY: &str = "sk_test_4eC39HqLyjWDarjtT1zdp7dc";
const WEBHOOK_SECRET: &str = "whsec_loggedNeverEver123";
const CLIENT_SECRET: &str = "pi_3Logs_secret_Nv0FGQ9RKHgCVdK";
const CARD: &str = "4242424242424242";
const IBAN: &str = "DE89370400440532013000";
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// `user:pass-for-logs` in base64.
const BASIC: &str = "dXNlcjpwYXNzLWZvci1sb2dz";

#[tokio::test]
async fn no_secret_reaches_any_log_line() {
    let captured = Captured::default();
    app::logging::init_with("json", tracing_subscriber::EnvFilter::new("trace"), captured.clone());

    let stripe = MockServer::start().await;
    let intent = json!({"id": "pi_3Logs", "object": "payment_intent", "status": "requires_payment_method",
        "client_secret": CLIENT_SECRET, "last_payment_error": {"message": format!("card {CARD} declined")}});
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(intent))
        .mount(&stripe)
        .await;
    let uri = stripe.uri();
    let app = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", STRIPE_KEY),
        ("STRIPE_API_BASE", &uri),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("SKILLPAY_ENCRYPTION_KEY", KEY),
        ("SKILLPAY_PAYOUT_HOLD_DAYS", "0"),
    ])
    .await;
    app.put_course(1, "100.00", "USD").await;
    let student = app.token(1000, Role::Student);

    // A Stripe payment: the key goes out, a client secret comes back.
    let res = app.post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "stripe"})).await;
    assert_eq!(res.status(), 201);
    // A card number pasted where it does not belong is refused, not logged.
    let res = app
        .post(
            "/api/payments/",
            &student,
            &json!({"course_id": 1, "payment_method": "sandbox", "billing": {"name": CARD}}),
        )
        .await;
    assert!(res.status().is_success() || res.status().is_client_error());
    // Gateway credentials stored by an admin.
    let res = app
        .request(reqwest::Method::PUT, "/api/payments/admin/gateway-configs/stripe/test/", Some(&app.admin()))
        .json(&json!({"is_active": false, "credentials": {"secret_key": STRIPE_KEY, "webhook_secret": WEBHOOK_SECRET}}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    // A sandbox sale, released, paid out to a bank account.
    // Another buyer: the first one's Stripe payment for the course is open.
    let buyer = app.token(1001, Role::Student);
    let created: serde_json::Value = app
        .post("/api/payments/", &buyer, &json!({"course_id": 1, "payment_method": "sandbox"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    app.post(&format!("/api/payments/{id}/confirm/"), &buyer, &json!({"payment_token": "sandbox_success"})).await;
    app.state.payouts.release_due_earnings(10).await.unwrap();
    let payout = json!({"amount": "20.00", "currency": "USD", "method": "bank_transfer",
        "destination": {"account_holder": "Ada", "account_number": IBAN}});
    assert_eq!(app.post("/api/payments/payouts/", &app.token(100, Role::Instructor), &payout).await.status(), 201);
    // A webhook with a wrong signature.
    let res = app
        .request(reqwest::Method::POST, "/api/payments/webhooks/stripe/", None)
        .header("Stripe-Signature", format!("t=1,v1={}", "ab".repeat(32)))
        .body(format!(r#"{{"id":"evt_1","card":"{CARD}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Basic credentials where a bearer token belongs.
    let res = app
        .request(reqwest::Method::GET, "/api/payments/", None)
        .header("Authorization", format!("Basic {BASIC}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // The console: a sign-in with a token, a one-time link, a session
    // cookie and its CSRF token, and a sign-out.
    let console = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed_in = console
        .post(format!("{}/admin/sign-in", app.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={}", app.admin()))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let link = api_actix::console::new_secret();
    let admin_actor = domain::actor::Actor::new(domain::ids::UserId::new(1), Role::Admin);
    let expires = chrono::Utc::now() + chrono::Duration::minutes(5);
    web_ports::console::ConsoleStore::create_link(
        &app.store,
        api_actix::console::secret_hash(&link),
        admin_actor,
        expires,
    )
    .await
    .unwrap();
    let used = console.post(format!("{}/admin/link/{link}", app.base)).send().await.unwrap();
    assert_eq!(used.status(), 303);
    let cookie = used.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let session = cookie.split_once('=').unwrap().1.to_owned();
    let page = console.get(format!("{}/admin/", app.base)).header("Cookie", &cookie).send().await.unwrap();
    let html = page.text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let out = console
        .post(format!("{}/admin/sign-out", app.base))
        .header("Cookie", &cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request_id"), "requests were logged with their ids");
    assert!(logs.lines().count() > 50, "TRACE captured the libraries too");
    let admin = app.admin();
    let console_secrets = [link.as_str(), session.as_str(), csrf.as_str()];
    for secret in [STRIPE_KEY, WEBHOOK_SECRET, CLIENT_SECRET, CARD, IBAN, BASIC, student.as_str(), admin.as_str()]
        .into_iter()
        .chain(console_secrets)
    {
        let line = logs.lines().find(|line| line.contains(secret));
        assert!(line.is_none(), "a secret reached the logs: {}", line.unwrap_or_default());
    }
}
