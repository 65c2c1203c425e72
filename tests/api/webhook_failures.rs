//! Forged webhooks from one address are cut off before they cost PayPal
//! verification calls; genuine deliveries, other addresses and other
//! gateways are not.

use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::paypal::paypal;

const VERIFY_PATH: &str = "/v1/notifications/verify-webhook-signature";
const FORGER: &str = "203.0.113.66";

async fn post(app: &TestApp, gateway: &str, from: &str, body: &str) -> reqwest::Response {
    app.request(reqwest::Method::POST, &format!("/api/payments/webhooks/{gateway}/"), None)
        .header("content-type", "application/json")
        .header("x-forwarded-for", from)
        .header("stripe-signature", "t=1,v1=00")
        .header("paypal-transmission-id", format!("t-{}", uuid::Uuid::new_v4()))
        .header("paypal-transmission-time", chrono::Utc::now().to_rfc3339())
        .header("paypal-transmission-sig", "c2lnbmF0dXJl")
        .header("paypal-cert-url", "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42")
        .header("paypal-auth-algo", "SHA256withRSA")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// A genuine event that asks nothing of us.
fn genuine_event() -> String {
    json!({"id": "WH-GENUINE-1", "event_type": "CHECKOUT.ORDER.COMPLETED", "resource": {"id": "5O1"}}).to_string()
}

fn forged_event(n: usize) -> String {
    json!({"id": format!("WH-FORGED-{n}"), "event_type": "CHECKOUT.ORDER.APPROVED", "resource": {"id": "5O1"}})
        .to_string()
}

/// Counts are per minute: start well inside one, so the test does not
/// straddle two windows.
async fn early_in_a_minute() {
    let second = chrono::Utc::now().timestamp().rem_euclid(60);
    if second > 45 {
        tokio::time::sleep(std::time::Duration::from_secs(u64::try_from(61 - second).unwrap())).await;
    }
}

#[tokio::test]
async fn forged_paypal_webhooks_from_one_address_are_refused_after_the_failure_limit_without_asking_paypal() {
    let server = paypal().await;
    // PayPal verifies the genuine approval and nothing else; it must be
    // asked about exactly the three forgeries the limit lets through.
    Mock::given(method("POST"))
        .and(path(VERIFY_PATH))
        .and(body_string_contains("WH-GENUINE-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": "SUCCESS"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(VERIFY_PATH))
        .and(body_string_contains("WH-FORGED"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verification_status": "FAILURE"})))
        .expect(3 + 1)
        .mount(&server)
        .await;
    let app = spawn_app_with(&[
        ("PAYPAL_CLIENT_ID", "client-id"),
        ("PAYPAL_CLIENT_SECRET", "client-secret"),
        ("PAYPAL_API_BASE", &server.uri()),
        ("PAYPAL_WEBHOOK_ID", "WH-ID-1"),
        ("STRIPE_SECRET_KEY", "sk_test_unused"),
        ("STRIPE_API_BASE", "http://127.0.0.1:9"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_test"),
        ("SKILLPAY_RATE_WEBHOOK_FAILURES_PER_IP", "3"),
        // The test client connects from loopback, standing for the balancer.
        ("SKILLPAY_TRUSTED_PROXIES", "127.0.0.0/8,::1"),
    ])
    .await;
    early_in_a_minute().await;

    // Genuine deliveries are not counted, however many.
    for _ in 0..5 {
        assert_eq!(post(&app, "paypal", FORGER, &genuine_event()).await.status(), 200);
    }
    for n in 0..3 {
        let res = post(&app, "paypal", FORGER, &forged_event(n)).await;
        assert_eq!(res.status(), 400);
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "webhook_rejected");
    }
    // The limit is used up: refused before PayPal is asked, genuine or not.
    for body in [forged_event(3), genuine_event()] {
        let limited = post(&app, "paypal", FORGER, &body).await;
        assert_eq!(limited.status(), 429);
        let retry_after: i64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        assert_eq!(limited.json::<Value>().await.unwrap()["code"], "rate_limited");
    }

    // Another address is verified as before (the fourth forged call)...
    assert_eq!(post(&app, "paypal", "198.51.100.7", &forged_event(4)).await.status(), 400);
    assert_eq!(post(&app, "paypal", "198.51.100.7", &genuine_event()).await.status(), 200);
    // ...and Stripe's webhooks from the same address have their own count.
    let res = post(&app, "stripe", FORGER, r#"{"id":"evt_1","type":"charge.succeeded"}"#).await;
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "webhook_rejected");
}
