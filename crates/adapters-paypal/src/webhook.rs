//! [`PaypalWebhookVerifier`]: PayPal webhooks behind the domain's
//! `WebhookVerifier`.
//!
//! PayPal signs webhooks with a certificate of its own; rather than fetch
//! and check certificates ourselves we ask PayPal
//! (`POST /v1/notifications/verify-webhook-signature`) with the delivery's
//! headers, our webhook id and the event. Only `SUCCESS` is accepted.
//!
//! The event goes to PayPal byte for byte as received, not re-serialised:
//! the signature covers the bytes PayPal sent, and re-serialising a parsed
//! value reorders keys (serde_json sorts them) and may reformat numbers,
//! which can turn a genuine delivery into a `FAILURE`.
//!
//! Each verification is a PayPal call that anyone can make us spend, so a
//! delivery is first checked locally (`webhook_checks`): headers present,
//! `SHA256withRSA`, a certificate URL on PayPal's domain and a transmission
//! time within 15 minutes. A delivery PayPal verified lately (same
//! transmission id and body) is answered from a per-instance cache
//! (`verified_cache`) without asking again.
//!
//! A replayed genuine delivery within the window is accepted again; that is
//! harmless because the webhook log processes each event id once and every
//! action re-reads its object (order, refund, dispute or payout batch) from
//! PayPal before changing anything.

use std::sync::Arc;

use async_trait::async_trait;
use domain::payment::PaymentMethod;
use domain::payout::PayoutMethod;
use domain::ports::{VerifiedWebhook, WebhookAction, WebhookError, WebhookRequest, WebhookVerifier};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::client::{Call, PaypalClient};
use crate::config::PaypalConfig;
use crate::error::SetupError;
use crate::verified_cache::{self, VerifiedDeliveries};
use crate::webhook_checks::{self, TRANSMISSION_WINDOW};
use crate::wire::{VerifyRequest, VerifyResponse};

/// `POST` verifies a delivery's signature.
const VERIFY_PATH: &str = "/v1/notifications/verify-webhook-signature";
/// The only answer that accepts a delivery.
const VERIFIED: &str = "SUCCESS";
/// The spec's longest header field (`cert_url`, `transmission_sig`); a longer
/// value is not PayPal's and is refused without asking PayPal.
const MAX_HEADER_LEN: usize = 500;

const TRANSMISSION_ID: &str = "paypal-transmission-id";
const TRANSMISSION_TIME: &str = "paypal-transmission-time";
const TRANSMISSION_SIG: &str = "paypal-transmission-sig";
const CERT_URL: &str = "paypal-cert-url";
const AUTH_ALGO: &str = "paypal-auth-algo";

/// The buyer approved an order: it is ready to capture.
const ORDER_APPROVED: &str = "CHECKOUT.ORDER.APPROVED";
/// Capture events whose order must be re-read.
const CAPTURE_EVENTS: [&str; 5] = [
    "PAYMENT.CAPTURE.COMPLETED",
    "PAYMENT.CAPTURE.DENIED",
    "PAYMENT.CAPTURE.PENDING",
    "PAYMENT.CAPTURE.REFUNDED",
    "PAYMENT.CAPTURE.REVERSED",
];
/// Dispute events: the dispute is re-read (with its order) from PayPal.
/// Money going back from a capture: a refund (made here or in PayPal's
/// dashboard) or a reversal.
const REFUND_EVENTS: [&str; 2] = ["PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"];
const DISPUTE_EVENTS: [&str; 3] = ["CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.UPDATED", "CUSTOMER.DISPUTE.RESOLVED"];
/// Prefix of payout item events (`...SUCCEEDED`, `...FAILED`, `...RETURNED`,
/// `...UNCLAIMED`, ...): the resource is the item, naming its batch.
const PAYOUT_ITEM_EVENTS: &str = "PAYMENT.PAYOUTS-ITEM.";
/// Prefix of payout batch events (`...SUCCESS`, `...DENIED`,
/// `...PROCESSING`): the resource is the batch.
const PAYOUT_BATCH_EVENTS: &str = "PAYMENT.PAYOUTSBATCH.";
/// Where a batch event's resource names its batch.
const BATCH_ID_IN_BATCH: &str = "/batch_header/payout_batch_id";
/// Where a capture event's resource names its order.
const RELATED_ORDER_ID: &str = "/supplementary_data/related_ids/order_id";

/// Verifies PayPal webhooks through PayPal's verification API.
#[derive(Debug, Clone)]
pub struct PaypalWebhookVerifier {
    client: PaypalClient,
    /// Shared by clones: every clone saves the same calls.
    verified: Arc<VerifiedDeliveries>,
}

impl PaypalWebhookVerifier {
    /// A verifier using `client` and its configured `webhook_id`.
    pub fn new(client: PaypalClient) -> Self {
        let ttl = TRANSMISSION_WINDOW.to_std().unwrap_or_default();
        Self { client, verified: Arc::new(VerifiedDeliveries::new(ttl, verified_cache::CAPACITY)) }
    }

    /// A verifier with a client of its own.
    pub fn from_config(config: PaypalConfig) -> Result<Self, SetupError> {
        PaypalClient::new(config).map(Self::new)
    }
}

/// The signature headers of a delivery.
struct Signature<'a> {
    transmission_id: &'a str,
    transmission_time: &'a str,
    transmission_sig: &'a str,
    cert_url: &'a str,
    auth_algo: &'a str,
}

impl<'a> Signature<'a> {
    fn of(request: &'a WebhookRequest) -> Result<Self, WebhookError> {
        let header = |name: &str| match request.header(name).map(str::trim) {
            Some(value) if !value.is_empty() && value.len() <= MAX_HEADER_LEN => Ok(value),
            Some(_) => Err(WebhookError::InvalidSignature(format!("header {name} is empty or too long"))),
            None => Err(WebhookError::InvalidSignature(format!("header {name} is missing"))),
        };
        Ok(Self {
            transmission_id: header(TRANSMISSION_ID)?,
            transmission_time: header(TRANSMISSION_TIME)?,
            transmission_sig: header(TRANSMISSION_SIG)?,
            cert_url: header(CERT_URL)?,
            auth_algo: header(AUTH_ALGO)?,
        })
    }

    /// Refuses, without asking PayPal, headers PayPal never sends.
    fn check_locally(&self, now: chrono::DateTime<chrono::Utc>) -> Result<(), WebhookError> {
        webhook_checks::algorithm(self.auth_algo)
            .and_then(|()| webhook_checks::cert_url(self.cert_url))
            .and_then(|()| webhook_checks::transmission_time(self.transmission_time, now))
            .map_err(|refused| WebhookError::InvalidSignature(refused.to_string()))
    }
}

/// The event fields we read.
#[derive(Deserialize)]
struct Event {
    id: String,
    event_type: String,
    #[serde(default)]
    resource: Value,
}

/// What an event asks of us.
fn action(event_type: &str, resource: &Value) -> Result<WebhookAction, WebhookError> {
    if event_type == ORDER_APPROVED {
        let order_id = resource.get("id").and_then(Value::as_str).filter(|id| !id.is_empty());
        return order_id
            .map(|id| WebhookAction::CapturePayment { provider_payment_id: id.to_owned() })
            .ok_or_else(|| WebhookError::Malformed("approved order without id".to_owned()));
    }
    if REFUND_EVENTS.contains(&event_type) {
        // A resource naming its order (a capture) re-reads the order's
        // refunds; one that does not (the refund itself) is followed to
        // its order through PayPal.
        if let Some(order_id) = resource.pointer(RELATED_ORDER_ID).and_then(Value::as_str).filter(|id| !id.is_empty()) {
            return Ok(WebhookAction::SyncPaymentRefunds { provider_payment_id: order_id.to_owned() });
        }
        if let Some(id) = resource.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()) {
            return Ok(WebhookAction::SyncRefund { provider_refund_id: id.to_owned() });
        }
    }
    if DISPUTE_EVENTS.contains(&event_type) {
        return id_at(resource, "/dispute_id", "dispute event without dispute_id")
            .map(|provider_dispute_id| WebhookAction::SyncDispute { provider_dispute_id });
    }
    let batch_id = if event_type.starts_with(PAYOUT_ITEM_EVENTS) {
        Some(id_at(resource, "/payout_batch_id", "payout item event without payout_batch_id")?)
    } else if event_type.starts_with(PAYOUT_BATCH_EVENTS) {
        Some(id_at(resource, BATCH_ID_IN_BATCH, "payout batch event without payout_batch_id")?)
    } else {
        None
    };
    if let Some(provider_payout_id) = batch_id {
        // Every payout event re-reads the batch: the event's own status is
        // not trusted, and events arriving out of order end in PayPal's
        // current state.
        return Ok(WebhookAction::SyncPayout { method: PayoutMethod::Paypal, provider_payout_id });
    }
    if CAPTURE_EVENTS.contains(&event_type) {
        // Refund resources carry no order id (the spec's `refund` has no
        // `supplementary_data`): nothing we can re-read, so acknowledge.
        let order_id = resource.pointer(RELATED_ORDER_ID).and_then(Value::as_str).filter(|id| !id.is_empty());
        return Ok(order_id
            .map(|id| WebhookAction::SyncPayment { provider_payment_id: id.to_owned() })
            .unwrap_or(WebhookAction::Ignore));
    }
    Ok(WebhookAction::Ignore)
}

/// The non-empty string at `pointer` in the resource, or `Malformed`.
fn id_at(resource: &Value, pointer: &str, missing: &str) -> Result<String, WebhookError> {
    resource
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| WebhookError::Malformed(missing.to_owned()))
}

#[async_trait]
impl WebhookVerifier for PaypalWebhookVerifier {
    fn provider(&self) -> PaymentMethod {
        PaymentMethod::Paypal
    }

    async fn verify(&self, request: &WebhookRequest) -> Result<VerifiedWebhook, WebhookError> {
        let webhook_id = self.client.config().webhook_id.as_deref().filter(|id| !id.is_empty());
        let Some(webhook_id) = webhook_id else { return Err(WebhookError::NotConfigured) };
        let signature = Signature::of(request)?;
        signature.check_locally(chrono::Utc::now())?;
        // PayPal can only check an event it can read: a body that is not a
        // JSON object is refused without asking.
        let not_json = || WebhookError::InvalidSignature("body is not a JSON object".to_owned());
        let text = std::str::from_utf8(&request.body).map_err(|_| not_json())?;
        let raw: &RawValue = serde_json::from_str(text).map_err(|_| not_json())?;
        let payload: Value = serde_json::from_str(text).map_err(|_| not_json())?;
        if !payload.is_object() {
            return Err(not_json());
        }

        if self.verified.contains(signature.transmission_id, &request.body) {
            return read_event(payload);
        }
        let verify = VerifyRequest {
            auth_algo: signature.auth_algo,
            cert_url: signature.cert_url,
            transmission_id: signature.transmission_id,
            transmission_sig: signature.transmission_sig,
            transmission_time: signature.transmission_time,
            webhook_id,
            webhook_event: raw,
        };
        let call = Call::post_json(VERIFY_PATH.to_owned(), &verify)?;
        let answer: VerifyResponse = self.client.send(&call).await?.success()?.json("verification answer")?;
        if answer.verification_status != VERIFIED {
            return Err(WebhookError::InvalidSignature("PayPal did not verify the signature".to_owned()));
        }
        self.verified.insert(signature.transmission_id, &request.body);

        read_event(payload)
    }

    fn read_stored(&self, payload: &Value) -> Result<WebhookAction, WebhookError> {
        read_event(payload.clone()).map(|event| event.action)
    }
}

/// Reads a verified (or stored) event: its id, type and what it asks of us.
fn read_event(payload: Value) -> Result<VerifiedWebhook, WebhookError> {
    let event: Event = serde_json::from_value(payload.clone())
        .map_err(|_| WebhookError::Malformed("event without id or event_type".to_owned()))?;
    if event.id.is_empty() || event.event_type.is_empty() {
        return Err(WebhookError::Malformed("event with empty id or event_type".to_owned()));
    }
    let action = action(&event.event_type, &event.resource)?;
    Ok(VerifiedWebhook {
        provider: PaymentMethod::Paypal,
        event_id: event.id,
        event_type: event.event_type,
        action,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_approved_order_is_captured() {
        assert_eq!(
            action(ORDER_APPROVED, &json!({"id": "5O190127TN364715T", "status": "APPROVED"})),
            Ok(WebhookAction::CapturePayment { provider_payment_id: "5O190127TN364715T".to_owned() })
        );
        assert!(matches!(action(ORDER_APPROVED, &json!({})), Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn refunds_and_reversals_sync_the_refund_or_the_orders_refunds() {
        for event_type in REFUND_EVENTS {
            assert_eq!(
                action(event_type, &json!({"id": "1JU08902781691411", "status": "COMPLETED"})),
                Ok(WebhookAction::SyncRefund { provider_refund_id: "1JU08902781691411".to_owned() }),
                "{event_type}"
            );
            let capture =
                json!({"id": "3C6", "status": "REFUNDED", "supplementary_data": {"related_ids": {"order_id": "5O1"}}});
            assert_eq!(
                action(event_type, &capture),
                Ok(WebhookAction::SyncPaymentRefunds { provider_payment_id: "5O1".to_owned() }),
                "{event_type}"
            );
        }
    }

    #[test]
    fn capture_events_sync_their_order() {
        let resource = json!({"id": "3C679366HH908993F", "supplementary_data": {"related_ids": {"order_id": "5O1"}}});
        for event_type in CAPTURE_EVENTS.into_iter().filter(|e| !REFUND_EVENTS.contains(e)) {
            assert_eq!(
                action(event_type, &resource),
                Ok(WebhookAction::SyncPayment { provider_payment_id: "5O1".to_owned() }),
                "{event_type}"
            );
            assert_eq!(action(event_type, &json!({"id": "1"})), Ok(WebhookAction::Ignore), "{event_type}");
        }
    }

    #[test]
    fn dispute_events_sync_the_dispute() {
        let resource = json!({"dispute_id": "PP-D-27803", "status": "WAITING_FOR_SELLER_RESPONSE",
            "disputed_transactions": [{"seller_transaction_id": "3C679366HH908993F"}]});
        for event_type in DISPUTE_EVENTS {
            assert_eq!(
                action(event_type, &resource),
                Ok(WebhookAction::SyncDispute { provider_dispute_id: "PP-D-27803".to_owned() }),
                "{event_type}"
            );
            assert!(matches!(action(event_type, &json!({"id": "1"})), Err(WebhookError::Malformed(_))));
        }
    }

    #[test]
    fn payout_item_and_batch_events_sync_the_batch() {
        let sync =
            WebhookAction::SyncPayout { method: PayoutMethod::Paypal, provider_payout_id: "FYXMPQTX4JC9N".into() };
        let item = json!({"payout_item_id": "8AELMXH8UB2P8", "transaction_status": "SUCCESS",
            "payout_batch_id": "FYXMPQTX4JC9N", "payout_item": {"receiver": "teacher@example.com"}});
        for event_type in [
            "PAYMENT.PAYOUTS-ITEM.SUCCEEDED",
            "PAYMENT.PAYOUTS-ITEM.FAILED",
            "PAYMENT.PAYOUTS-ITEM.RETURNED",
            "PAYMENT.PAYOUTS-ITEM.UNCLAIMED",
            "PAYMENT.PAYOUTS-ITEM.BLOCKED",
        ] {
            assert_eq!(action(event_type, &item), Ok(sync.clone()), "{event_type}");
        }
        let batch = json!({"batch_header": {"payout_batch_id": "FYXMPQTX4JC9N", "batch_status": "SUCCESS"}});
        for event_type in
            ["PAYMENT.PAYOUTSBATCH.SUCCESS", "PAYMENT.PAYOUTSBATCH.DENIED", "PAYMENT.PAYOUTSBATCH.PROCESSING"]
        {
            assert_eq!(action(event_type, &batch), Ok(sync.clone()), "{event_type}");
        }
        assert!(matches!(action("PAYMENT.PAYOUTSBATCH.SUCCESS", &item), Err(WebhookError::Malformed(_))));
        assert!(matches!(action("PAYMENT.PAYOUTS-ITEM.FAILED", &batch), Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn other_events_are_ignored() {
        for event_type in
            ["CHECKOUT.ORDER.COMPLETED", "PAYMENT.AUTHORIZATION.CREATED", "CUSTOMER.MERCHANT-INTEGRATION.X"]
        {
            assert_eq!(action(event_type, &json!({"id": "1"})), Ok(WebhookAction::Ignore), "{event_type}");
        }
    }
}
