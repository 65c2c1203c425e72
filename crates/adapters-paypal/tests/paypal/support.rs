//! A stand-in PayPal on 127.0.0.1 (wiremock) and builders for the bodies it
//! answers, shaped like the examples and schemas of the official specs in
//! `tests/fixtures/` and PayPal's published examples.

use std::time::Duration;

use adapters_paypal::{PaypalClient, PaypalConfig, PaypalGateway, PaypalPayouts, PaypalWebhookVerifier, Secret};
use chrono::Utc;
use domain::builders::{PaymentBuilder, PayoutBuilder};
use domain::catalog::ItemRef;
use domain::ids::{PaymentId, PayoutId, UserId};
use domain::money::Money;
use domain::payment::{Payment, PaymentMethod};
use domain::payout::{Payout, PayoutMethod, PayoutStatus};
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const CLIENT_ID: &str = "AeA1QIZXiflr1_-r0U2UbWTziOWX1GRQer5";
pub const CLIENT_SECRET: &str = "ECYYrrSHdKfk_Q0EdvzdGkzj58a66kKaUQ5dZAEv";
pub const TOKEN: &str =
    "A21AAFEpH4PsADK7qSS7pSRsgzfENtu-Q1ysgEDVDESseMHBYXVJYE8ovjj68elIDy8nF26AwPhfXTIeWAZHSLIsQkSYz9ifg";
pub const WEBHOOK_ID: &str = "1JE4291016473214C";
pub const ORDER_ID: &str = "5O190127TN364715T";
pub const CAPTURE_ID: &str = "3C679366HH908993F";
pub const RETURN_URL: &str = "https://skillpay.example/paypal/return";
pub const CANCEL_URL: &str = "https://skillpay.example/paypal/cancel";
pub const TOKEN_PATH: &str = "/v1/oauth2/token";
pub const ORDERS_PATH: &str = "/v2/checkout/orders";
pub const VERIFY_PATH: &str = "/v1/notifications/verify-webhook-signature";
pub const PAYOUTS_PATH: &str = "/v1/payments/payouts";
pub const BATCH_ID: &str = "FYXMPQTX4JC9N";
pub const RECEIVER: &str = "teacher@example.com";
pub const DISPUTE_ID: &str = "PP-D-27803";

/// A fake PayPal and a configuration pointing at it.
pub struct FakePaypal {
    pub server: MockServer,
    pub config: PaypalConfig,
}

impl FakePaypal {
    /// A server with nothing mounted; fast backoff so retry tests are quick.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let config = PaypalConfig {
            api_base: server.uri(),
            timeout_ms: 2_000,
            max_retries: 2,
            backoff_base_ms: 1,
            ..PaypalConfig::sandbox(CLIENT_ID, Secret::new(CLIENT_SECRET), RETURN_URL, CANCEL_URL)
        }
        .with_webhook_id(WEBHOOK_ID);
        Self { server, config }
    }

    /// A server that hands out [`TOKEN`] (valid nine hours) any number of times.
    pub async fn with_token() -> Self {
        let paypal = Self::start().await;
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(token_body(TOKEN, 32_400)))
            .mount(&paypal.server)
            .await;
        paypal
    }

    pub fn client(&self) -> PaypalClient {
        PaypalClient::new(self.config.clone()).unwrap()
    }

    pub fn gateway(&self) -> PaypalGateway {
        PaypalGateway::new(self.client())
    }

    pub fn payouts(&self) -> PaypalPayouts {
        PaypalPayouts::new(self.client())
    }

    pub fn verifier(&self) -> PaypalWebhookVerifier {
        PaypalWebhookVerifier::new(self.client())
    }

    /// Requests received at `path`, in order.
    pub async fn requests_to(&self, wanted: &str) -> Vec<Request> {
        let all = self.server.received_requests().await.unwrap();
        all.into_iter().filter(|request| request.url.path() == wanted).collect()
    }

    /// Every request received.
    pub async fn all_requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap()
    }
}

/// The answer of `POST /v1/oauth2/token` as PayPal documents it.
pub fn token_body(token: &str, expires_in: u64) -> Value {
    json!({
        "scope": "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/applications/webhooks",
        "access_token": token,
        "token_type": "Bearer",
        "app_id": "APP-80W284485P519543T",
        "expires_in": expires_in,
        "nonce": "2026-11-26T10:00:00ZaYZlGvEkV4yVSz8g6bAKFoGSEzuy3CQcz3ljhibkOHg"
    })
}

/// An order as `POST /v2/checkout/orders` answers it without a payment
/// source: `CREATED` with an `approve` link.
pub fn created_order(id: &str) -> Value {
    json!({
        "id": id,
        "status": "CREATED",
        "links": [
            {"href": format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{id}"), "rel": "self", "method": "GET"},
            {"href": approve_url(id), "rel": "approve", "method": "GET"},
            {"href": format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{id}"), "rel": "update", "method": "PATCH"},
            {"href": format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{id}/capture"), "rel": "capture", "method": "POST"}
        ]
    })
}

/// An order with a PayPal payment source: `PAYER_ACTION_REQUIRED` with a
/// `payer-action` link.
pub fn payer_action_order(id: &str) -> Value {
    json!({
        "id": id,
        "status": "PAYER_ACTION_REQUIRED",
        "payment_source": {"paypal": {}},
        "links": [
            {"href": format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{id}"), "rel": "self", "method": "GET"},
            {"href": approve_url(id), "rel": "payer-action", "method": "GET"}
        ]
    })
}

pub fn approve_url(id: &str) -> String {
    format!("https://www.sandbox.paypal.com/checkoutnow?token={id}")
}

/// An order in `status` with no captures (as `GET` answers it).
pub fn order_in(id: &str, status: &str) -> Value {
    json!({
        "id": id,
        "intent": "CAPTURE",
        "status": status,
        "purchase_units": [{
            "reference_id": "default",
            "amount": {"currency_code": "USD", "value": "49.99"},
            "payee": {"email_address": "merchant@skillpay.example", "merchant_id": "7KNGBPH2U58GQ"},
            "custom_id": "pay_0190d2a0c0a27c2f8b5e1f2a3b4c5d6e"
        }],
        "create_time": "2026-11-26T10:00:00Z",
        "links": [{"href": format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{id}"), "rel": "self", "method": "GET"}]
    })
}

/// A completed order whose one capture is in `capture_status` (the capture
/// answer with `Prefer: return=representation`).
pub fn captured_order(id: &str, capture_status: &str) -> Value {
    json!({
        "id": id,
        "intent": "CAPTURE",
        "status": "COMPLETED",
        "payment_source": {"paypal": {
            "name": {"given_name": "John", "surname": "Doe"},
            "email_address": "customer@example.com",
            "account_id": "QYR5Z8XDVJNXQ"
        }},
        "purchase_units": [{
            "reference_id": "default",
            "payments": {"captures": [{
                "id": CAPTURE_ID,
                "status": capture_status,
                "amount": {"currency_code": "USD", "value": "49.99"},
                "final_capture": true,
                "seller_protection": {"status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]},
                "seller_receivable_breakdown": {
                    "gross_amount": {"currency_code": "USD", "value": "49.99"},
                    "paypal_fee": {"currency_code": "USD", "value": "1.95"},
                    "net_amount": {"currency_code": "USD", "value": "48.04"}
                },
                "custom_id": "pay_0190d2a0c0a27c2f8b5e1f2a3b4c5d6e",
                "links": [{"href": format!("https://api-m.sandbox.paypal.com/v2/payments/captures/{CAPTURE_ID}"), "rel": "self", "method": "GET"}],
                "create_time": "2026-11-26T10:05:00Z",
                "update_time": "2026-11-26T10:05:00Z"
            }]}
        }],
        "links": [{"href": format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{id}"), "rel": "self", "method": "GET"}]
    })
}

/// A PayPal error body (`error_4xx` in the specs).
pub fn error_body(name: &str, issue: &str, description: &str) -> Value {
    json!({
        "name": name,
        "details": [{"issue": issue, "description": description}],
        "message": "The requested action could not be performed, semantically incorrect, or failed business validation.",
        "debug_id": "90957fca61718",
        "links": [{"href": format!("https://developer.paypal.com/api/rest/reference/orders/v2/errors/#{issue}"), "rel": "information_link", "method": "GET"}]
    })
}

/// `error_422` with `issue`.
pub fn unprocessable(issue: &str) -> ResponseTemplate {
    ResponseTemplate::new(422).set_body_json(error_body("UNPROCESSABLE_ENTITY", issue, "See the issue."))
}

/// `error_500`.
pub fn internal_error() -> ResponseTemplate {
    ResponseTemplate::new(500).set_body_json(json!({
        "name": "INTERNAL_SERVER_ERROR",
        "message": "An internal server error occurred.",
        "debug_id": "90957fca61718",
        "links": [{"href": "https://developer.paypal.com/api/orders/v2/#error-INTERNAL_SERVER_ERROR", "rel": "information_link"}]
    }))
}

/// `error_503`.
pub fn unavailable() -> ResponseTemplate {
    ResponseTemplate::new(503).set_body_json(json!({
        "name": "SERVICE_UNAVAILABLE",
        "message": "Service Unavailable.",
        "debug_id": "90957fca61718"
    }))
}

/// `error_401`.
pub fn unauthorized() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(json!({
        "name": "AUTHENTICATION_FAILURE",
        "message": "Authentication failed due to missing authorization header, or invalid authentication credentials.",
        "debug_id": "90957fca61718",
        "links": []
    }))
}

/// A pending payment of `amount` paid with PayPal.
pub fn payment(amount: Money) -> Payment {
    PaymentBuilder::new()
        .id(PaymentId::from_uuid(Uuid::now_v7()))
        .user(UserId::new(7))
        .item(ItemRef::course(42))
        .instructor(UserId::new(3))
        .method(PaymentMethod::Paypal)
        .price(amount)
        .platform_fee(Money::zero(amount.currency()))
        .created_at(Utc::now())
        .build()
}

/// A header's value in a received request.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|value| value.to_str().ok())
}

/// Longer than any test's client timeout.
pub const SLOW: Duration = Duration::from_millis(1_500);

/// An approved payout of `amount` to PayPal.
pub fn payout(amount: Money) -> Payout {
    PayoutBuilder::new()
        .id(PayoutId::from_uuid(Uuid::now_v7()))
        .instructor(UserId::new(3))
        .amount(amount)
        .method(PayoutMethod::Paypal, "t***@example.com")
        .status(PayoutStatus::Approved)
        .created_at(Utc::now())
        .build()
}

/// The answer of `POST /v1/payments/payouts` (`payout` in the Payouts spec).
pub fn created_batch(sender_batch_id: &str, batch_status: &str) -> Value {
    json!({
        "batch_header": {
            "sender_batch_header": {"sender_batch_id": sender_batch_id, "email_subject": "You have a payout from Skillpay"},
            "payout_batch_id": BATCH_ID,
            "batch_status": batch_status
        },
        "links": [{"href": format!("https://api-m.sandbox.paypal.com/v1/payments/payouts/{BATCH_ID}"), "rel": "self", "method": "GET", "encType": "application/json"}]
    })
}

/// The answer of `GET /v1/payments/payouts/{id}` (`payout_batch`) with one
/// item in `transaction_status`.
pub fn batch_with_item(batch_status: &str, transaction_status: &str) -> Value {
    json!({
        "total_items": 1,
        "total_pages": 1,
        "batch_header": {
            "payout_batch_id": BATCH_ID,
            "batch_status": batch_status,
            "time_created": "2026-11-26T10:00:00Z",
            "time_completed": "2026-11-26T10:00:05Z",
            "sender_batch_header": {"sender_batch_id": "po_0190d2a0c0a27c2f8b5e1f2a3b4c5d6e", "email_subject": "You have a payout from Skillpay"},
            "funding_source": "BALANCE",
            "amount": {"currency": "USD", "value": "9.87"},
            "fees": {"currency": "USD", "value": "0.00"}
        },
        "items": [{
            "payout_item_id": "8AELMXH8UB2P8",
            "transaction_id": "0C413693MN970190K",
            "activity_id": "0E158638XS0329106",
            "transaction_status": transaction_status,
            "payout_item_fee": {"currency": "USD", "value": "0.00"},
            "payout_batch_id": BATCH_ID,
            "payout_item": {
                "recipient_type": "EMAIL",
                "amount": {"currency": "USD", "value": "9.87"},
                "receiver": RECEIVER,
                "sender_item_id": "po_0190d2a0c0a27c2f8b5e1f2a3b4c5d6e",
                "recipient_wallet": "PAYPAL"
            },
            "time_processed": "2026-11-26T10:00:05Z",
            "links": [{"href": "https://api-m.sandbox.paypal.com/v1/payments/payouts-item/8AELMXH8UB2P8", "rel": "item", "method": "GET", "encType": "application/json"}]
        }],
        "links": [{"href": format!("https://api-m.sandbox.paypal.com/v1/payments/payouts/{BATCH_ID}?page_size=1000&page=1"), "rel": "self", "method": "GET", "encType": "application/json"}]
    })
}

/// A dispute (`dispute` in PayPal's Disputes v1 spec) on [`CAPTURE_ID`], in
/// `status`, with `outcome` when resolved.
pub fn dispute_body(status: &str, outcome: Option<&str>) -> Value {
    let mut body = json!({
        "dispute_id": DISPUTE_ID,
        "create_time": "2026-11-20T10:00:00.000Z",
        "update_time": "2026-11-21T10:00:00.000Z",
        "disputed_transactions": [{
            "buyer_transaction_id": "4FB67418BD5326612",
            "seller_transaction_id": CAPTURE_ID,
            "create_time": "2026-11-10T10:05:00.000Z",
            "transaction_status": "COMPLETED",
            "gross_amount": {"currency_code": "USD", "value": "49.99"},
            "invoice_number": "pay_0190d2a0c0a27c2f8b5e1f2a3b4c5d6e",
            "custom": "pay_0190d2a0c0a27c2f8b5e1f2a3b4c5d6e",
            "buyer": {"name": "John Doe"},
            "seller": {"email": "merchant@skillpay.example", "merchant_id": "7KNGBPH2U58GQ", "name": "Skillpay"}
        }],
        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "status": status,
        "dispute_amount": {"currency_code": "USD", "value": "49.99"},
        "dispute_life_cycle_stage": "CHARGEBACK",
        "dispute_channel": "INTERNAL",
        "seller_response_due_date": "2026-12-04T10:00:00.000Z",
        "links": [
            {"href": format!("https://api-m.sandbox.paypal.com/v1/customer/disputes/{DISPUTE_ID}"), "rel": "self", "method": "GET"},
            {"href": format!("https://api-m.sandbox.paypal.com/v1/customer/disputes/{DISPUTE_ID}/provide-evidence"), "rel": "provide_evidence", "method": "POST"},
            {"href": format!("https://api-m.sandbox.paypal.com/v1/customer/disputes/{DISPUTE_ID}/accept-claim"), "rel": "accept_claim", "method": "POST"}
        ]
    });
    if let Some(outcome) = outcome {
        body["dispute_outcome"] =
            json!({"outcome_code": outcome, "amount_refunded": {"currency_code": "USD", "value": "49.99"}});
    }
    body
}

/// A capture as `GET /v2/payments/captures/{id}` answers it, naming its
/// order in `supplementary_data.related_ids`.
pub fn capture_body(order_id: Option<&str>) -> Value {
    let mut body = json!({
        "id": CAPTURE_ID,
        "status": "COMPLETED",
        "amount": {"currency_code": "USD", "value": "49.99"},
        "final_capture": true,
        "seller_protection": {"status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]},
        "custom_id": "pay_0190d2a0c0a27c2f8b5e1f2a3b4c5d6e",
        "create_time": "2026-11-10T10:05:00Z",
        "update_time": "2026-11-10T10:05:00Z",
        "links": [{"href": format!("https://api-m.sandbox.paypal.com/v2/payments/captures/{CAPTURE_ID}"), "rel": "self", "method": "GET"}]
    });
    if let Some(order_id) = order_id {
        body["supplementary_data"] = json!({"related_ids": {"order_id": order_id}});
    }
    body
}
