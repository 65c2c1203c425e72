//! A gateway from outside the workspace's gateway crates, registered
//! through its descriptor and nothing else: purchases, confirmation, its
//! webhooks, refunds and the ledger all work for it, which is what
//! docs/extending.md promises a new gateway. It serves the `wallet`
//! method, which no built-in gateway serves.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use domain::gateway_config::GatewayMode;
use domain::money::{Currency, Money};
use domain::payment::{Payment, PaymentMethod};
use domain::ports::{
    GatewayDescriptor, GatewayError, GatewayOutcome, GatewayRefund, GatewayRefundRecord, GatewayRefundState,
    GatewaySession, NextAction, PaymentGateway, RefundGateway, VerifiedWebhook, WebhookAction, WebhookError,
    WebhookRequest, WebhookVerifier,
};
use domain::usecases::Role;
use reqwest::Method;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with_gateways};

const SIGNATURE_HEADER: &str = "x-test-signature";
const SECRET: &str = "test-gateway-secret";

/// Sessions the buyer paid for outside Skillpay (its webhooks say so).
#[derive(Default)]
pub(crate) struct TestGateway {
    pub(crate) paid_elsewhere: Mutex<HashSet<String>>,
}

#[async_trait]
impl PaymentGateway for TestGateway {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Wallet
    }
    async fn create_session(&self, payment: &Payment) -> Result<GatewaySession, GatewayError> {
        Ok(GatewaySession {
            provider_payment_id: format!("tg_{}", payment.id.uuid().simple()),
            next_action: NextAction::ConfirmWithToken {
                provider: PaymentMethod::Wallet,
                tokens: vec!["ok", "no"],
                authenticate: false,
            },
        })
    }
    async fn confirm(&self, _: &str, token: &str) -> Result<GatewayOutcome, GatewayError> {
        match token {
            "ok" => Ok(GatewayOutcome::Succeeded),
            _ => Ok(GatewayOutcome::Declined { reason: "refused by the test gateway".to_owned() }),
        }
    }
    async fn cancel(&self, _: &str) -> Result<(), GatewayError> {
        Ok(())
    }
    async fn status(&self, provider_payment_id: &str) -> Result<GatewayOutcome, GatewayError> {
        let paid = self.paid_elsewhere.lock().unwrap().contains(provider_payment_id);
        Ok(if paid { GatewayOutcome::Succeeded } else { GatewayOutcome::AwaitingBuyer })
    }
    /// It keeps 3.5 % of every charge, and rates every charge highest risk.
    async fn charge_facts(&self, payment: &Payment) -> Result<Option<domain::ports::ChargeFacts>, GatewayError> {
        let fee = Money::from_minor(payment.amount.minor() * 35 / 1000, payment.amount.currency());
        let risk = domain::fraud::RiskVerdict {
            level: Some("highest".into()),
            score: Some(97),
            card_fingerprint: Some("tgcard1".into()),
            seller_protection: None,
        };
        Ok(Some(domain::ports::ChargeFacts { fee, risk }))
    }
}

#[async_trait]
impl RefundGateway for TestGateway {
    async fn refund(&self, _: &str, _: Money, idempotency_key: &str) -> Result<GatewayRefund, GatewayError> {
        Ok(GatewayRefund { provider_refund_id: format!("tgr_{idempotency_key}"), state: GatewayRefundState::Succeeded })
    }
    async fn refund_status(&self, _: &str) -> Result<GatewayRefundState, GatewayError> {
        Ok(GatewayRefundState::Succeeded)
    }
    async fn refunds_of(&self, _: &str) -> Result<Vec<GatewayRefundRecord>, GatewayError> {
        Ok(Vec::new())
    }
    async fn payment_of_refund(&self, _: &str) -> Result<String, GatewayError> {
        Err(GatewayError::UnknownPayment)
    }
    /// It keeps its fee when refunding.
    async fn fee_returned(&self, _: &str, currency: Currency) -> Result<Option<Money>, GatewayError> {
        Ok(Some(Money::zero(currency)))
    }
}

/// Its webhooks carry a shared secret in a header and name the session
/// that was paid.
struct TestVerifier;

fn action_of(event: &Value) -> Result<WebhookAction, WebhookError> {
    let session = event["session"].as_str().ok_or_else(|| WebhookError::Malformed("no session".to_owned()))?;
    Ok(WebhookAction::SyncPayment { provider_payment_id: session.to_owned() })
}

#[async_trait]
impl WebhookVerifier for TestVerifier {
    fn provider(&self) -> PaymentMethod {
        PaymentMethod::Wallet
    }
    async fn verify(&self, request: &WebhookRequest) -> Result<VerifiedWebhook, WebhookError> {
        if request.header(SIGNATURE_HEADER) != Some(SECRET) {
            return Err(WebhookError::InvalidSignature("wrong secret".to_owned()));
        }
        let payload: Value =
            serde_json::from_slice(&request.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        Ok(VerifiedWebhook {
            provider: PaymentMethod::Wallet,
            event_id: payload["id"].as_str().unwrap_or_default().to_owned(),
            event_type: "session.paid".to_owned(),
            action: action_of(&payload)?,
            payload,
        })
    }
    fn read_stored(&self, payload: &Value) -> Result<WebhookAction, WebhookError> {
        action_of(payload)
    }
}

pub(crate) async fn app_with_test_gateway() -> (TestApp, Arc<TestGateway>) {
    app_with_test_gateway_and(&[]).await
}

/// [`app_with_test_gateway`] with `settings`.
pub(crate) async fn app_with_test_gateway_and(settings: &[(&str, &str)]) -> (TestApp, Arc<TestGateway>) {
    let gateway = Arc::new(TestGateway::default());
    let descriptor = GatewayDescriptor::new(GatewayMode::Test, gateway.clone())
        .refunds(gateway.clone())
        .webhooks(Arc::new(TestVerifier));
    let app = spawn_app_with_gateways(settings, vec![descriptor]).await;
    app.put_course(1, "50.00", "USD").await;
    (app, gateway)
}

/// Delivers the gateway's signed "session paid" webhook for `session`.
pub(crate) async fn deliver_paid(app: &TestApp, event_id: &str, session: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/payments/webhooks/wallet/", None)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, SECRET)
        .body(json!({"id": event_id, "session": session}).to_string())
        .send()
        .await
        .unwrap()
}

pub(crate) async fn buy(app: &TestApp, student: &str) -> Value {
    let res = app.post("/api/payments/", student, &json!({"course_id": 1, "payment_method": "wallet"})).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_gateway_registered_by_its_descriptor_takes_payments_and_refunds_them() {
    let (app, _) = app_with_test_gateway().await;
    let student = app.token(1000, Role::Student);

    let created = buy(&app, &student).await;
    assert_eq!(created["next_action"]["type"], "wallet_confirm", "{created}");
    assert_eq!(created["next_action"]["provider"], "wallet");
    assert_eq!(created["next_action"]["payment_tokens"], json!(["ok", "no"]));
    let id = created["id"].as_str().unwrap();
    let confirmed: Value = app
        .post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "ok"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(confirmed["status"], "completed", "{confirmed}");
    assert_eq!(app.store.account_balance("gateway_clearing:wallet".into(), "USD".into(), false).await.unwrap(), 50_00);

    let refund: Value = app
        .post("/api/payments/refunds/", &student, &json!({"payment_id": id, "reason": "changed my mind"}))
        .await
        .json()
        .await
        .unwrap();
    let approved: Value = app
        .post(&format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap()), &app.admin(), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(approved["status"], "processed", "{approved}");
    assert!(approved["provider_refund_id"].as_str().unwrap().starts_with("tgr_re_"));
    assert_eq!(app.store.account_balance("gateway_clearing:wallet".into(), "USD".into(), false).await.unwrap(), 0);
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}

#[tokio::test]
async fn its_webhooks_reach_the_one_webhook_route_and_settle_the_payment() {
    let (app, gateway) = app_with_test_gateway().await;
    let student = app.token(1000, Role::Student);
    let created = buy(&app, &student).await;
    let (id, session) = (created["id"].as_str().unwrap(), created["provider_payment_id"].as_str().unwrap());
    gateway.paid_elsewhere.lock().unwrap().insert(session.to_owned());

    let deliver = |secret: &'static str| {
        app.request(Method::POST, "/api/payments/webhooks/wallet/", None)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, secret)
            .body(json!({"id": "evt_1", "session": session}).to_string())
            .send()
    };
    assert_eq!(deliver("forged").await.unwrap().status(), 400, "its verifier refuses a bad signature");
    assert_eq!(
        app.get(&format!("/api/payments/{id}/"), &student).await.json::<Value>().await.unwrap()["status"],
        "pending"
    );

    let ack: Value = deliver(SECRET).await.unwrap().json().await.unwrap();
    assert_eq!(ack["status"], "processed", "{ack}");
    let payment: Value = app.get(&format!("/api/payments/{id}/"), &student).await.json().await.unwrap();
    assert_eq!(payment["status"], "completed", "{payment}");
    let events = app.store.outbox_events_for(id.to_owned()).await.unwrap();
    assert_eq!(events.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(), ["payment.completed"]);
}
