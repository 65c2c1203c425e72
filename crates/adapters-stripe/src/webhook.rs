//! Reading Stripe webhooks: signature first, then the event.

use async_trait::async_trait;
use domain::payment::PaymentMethod;
use domain::payout::PayoutMethod;
use domain::ports::{VerifiedWebhook, WebhookAction, WebhookError, WebhookRequest, WebhookVerifier};
use serde::Deserialize;

use crate::signature::{SignatureError, verify_signature};

/// The header Stripe signs with.
pub const SIGNATURE_HEADER: &str = "stripe-signature";

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    data: EventData,
    /// The connected account an event is about (Connect webhooks); absent
    /// for the platform's own account.
    #[serde(default)]
    account: Option<String>,
}

#[derive(Deserialize)]
struct EventData {
    object: EventObject,
}

#[derive(Deserialize)]
struct EventObject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    payment_intent: Option<String>,
    /// On charges: the charge's refunds, newest first.
    #[serde(default)]
    refunds: Option<RefundList>,
}

#[derive(Deserialize)]
struct RefundList {
    #[serde(default)]
    data: Vec<RefundItem>,
}

#[derive(Deserialize)]
struct RefundItem {
    id: String,
}

/// Verifies Stripe webhooks with the configured signing secrets.
#[derive(Clone)]
pub struct StripeWebhookVerifier {
    secrets: Vec<String>,
    clock: fn() -> i64,
}

impl std::fmt::Debug for StripeWebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeWebhookVerifier").field("secrets", &self.secrets.len()).finish()
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl StripeWebhookVerifier {
    /// A verifier for these secrets (none: every webhook is refused).
    pub fn new(secrets: Vec<String>) -> Self {
        Self { secrets, clock: unix_now }
    }

    /// A verifier with a fixed clock (tests).
    pub fn with_clock(secrets: Vec<String>, clock: fn() -> i64) -> Self {
        Self { secrets, clock }
    }
}

/// What Skillpay does with each Stripe event type. Payment events re-read
/// the PaymentIntent, refund events the Refund (and, for one Skillpay did
/// not make, its PaymentIntent's refunds), `charge.refunded` every refund
/// of the charge's PaymentIntent, dispute events the Dispute
/// and transfer events the Transfer (our payouts). `payout.*` events of the
/// platform's account re-read the payout of its balance to its bank
/// (settlement reconciliation); those of a connected account paying itself
/// out are recorded and acknowledged.
fn action_for(event_type: &str, object: &EventObject, account: Option<&str>) -> WebhookAction {
    if event_type.starts_with("payout.") {
        return match (&object.id, account) {
            (Some(id), None) => WebhookAction::SyncBankPayout { provider_payout_id: id.clone() },
            _ => WebhookAction::Ignore,
        };
    }
    if event_type == "charge.refunded" {
        // The charge lists only some of its refunds: re-read them all.
        if let Some(provider_payment_id) = object.payment_intent.clone() {
            return WebhookAction::SyncPaymentRefunds { provider_payment_id };
        }
        if let Some(provider_refund_id) =
            object.refunds.as_ref().and_then(|list| list.data.first()).map(|r| r.id.clone())
        {
            return WebhookAction::SyncRefund { provider_refund_id };
        }
    }
    let refund = match event_type {
        "refund.created" | "refund.updated" | "refund.failed" | "charge.refund.updated" => object.id.clone(),
        _ => None,
    };
    if let Some(provider_refund_id) = refund {
        return WebhookAction::SyncRefund { provider_refund_id };
    }
    if matches!(event_type, "transfer.reversed" | "transfer.updated")
        && let Some(provider_payout_id) = object.id.clone()
    {
        return WebhookAction::SyncPayout { method: PayoutMethod::StripeConnect, provider_payout_id };
    }
    if event_type.starts_with("charge.dispute.")
        && let Some(provider_dispute_id) = object.id.clone()
    {
        return WebhookAction::SyncDispute { provider_dispute_id };
    }
    let intent = match event_type {
        "payment_intent.succeeded"
        | "payment_intent.payment_failed"
        | "payment_intent.canceled"
        | "payment_intent.processing"
        | "payment_intent.requires_action" => object.id.clone(),
        "charge.succeeded" | "charge.failed" => object.payment_intent.clone(),
        _ => None,
    };
    match intent {
        Some(provider_payment_id) => WebhookAction::SyncPayment { provider_payment_id },
        None => WebhookAction::Ignore,
    }
}

#[async_trait]
impl WebhookVerifier for StripeWebhookVerifier {
    fn provider(&self) -> PaymentMethod {
        PaymentMethod::Stripe
    }

    async fn verify(&self, request: &WebhookRequest) -> Result<VerifiedWebhook, WebhookError> {
        verify_signature(request.header(SIGNATURE_HEADER), &request.body, &self.secrets, (self.clock)()).map_err(
            |e| match e {
                SignatureError::NoSecret => WebhookError::NotConfigured,
                other => WebhookError::InvalidSignature(other.to_string()),
            },
        )?;
        let payload: serde_json::Value =
            serde_json::from_slice(&request.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        read_event(payload)
    }

    fn read_stored(&self, payload: &serde_json::Value) -> Result<WebhookAction, WebhookError> {
        read_event(payload.clone()).map(|event| event.action)
    }
}

/// Reads a signed (or stored) event: its id, type and what it asks of us.
fn read_event(payload: serde_json::Value) -> Result<VerifiedWebhook, WebhookError> {
    let event: Event = serde_json::from_value(payload.clone()).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let action = action_for(&event.event_type, &event.data.object, event.account.as_deref());
    Ok(VerifiedWebhook {
        provider: PaymentMethod::Stripe,
        event_id: event.id,
        event_type: event.event_type,
        action,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::sign;

    const SECRET: &str = "whsec_unit";
    const NOW: i64 = 1_800_000_000;

    async fn action_of(body: serde_json::Value) -> WebhookAction {
        let body = body.to_string().into_bytes();
        let header = sign(&body, SECRET, NOW);
        let request = WebhookRequest { headers: vec![(SIGNATURE_HEADER.to_owned(), header)], body };
        let verifier = StripeWebhookVerifier::with_clock(vec![SECRET.to_owned()], || NOW);
        verifier.verify(&request).await.unwrap().action
    }

    fn event(event_type: &str, object: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"id": "evt_1", "type": event_type, "data": {"object": object}})
    }

    #[tokio::test]
    async fn each_event_type_maps_to_its_action() {
        let sync_payment = |id: &str| WebhookAction::SyncPayment { provider_payment_id: id.to_owned() };
        let sync_refund = |id: &str| WebhookAction::SyncRefund { provider_refund_id: id.to_owned() };
        let intent = serde_json::json!({"id": "pi_1", "object": "payment_intent"});
        for kind in ["payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"] {
            assert_eq!(action_of(event(kind, intent.clone())).await, sync_payment("pi_1"), "{kind}");
        }
        let charge = serde_json::json!({"id": "ch_1", "payment_intent": "pi_1", "refunds": {"data": [{"id": "re_2"}]}});
        assert_eq!(action_of(event("charge.succeeded", charge.clone())).await, sync_payment("pi_1"));
        assert_eq!(
            action_of(event("charge.refunded", charge)).await,
            WebhookAction::SyncPaymentRefunds { provider_payment_id: "pi_1".to_owned() }
        );
        let charge_without_intent = serde_json::json!({"id": "ch_2", "refunds": {"data": [{"id": "re_2"}]}});
        assert_eq!(action_of(event("charge.refunded", charge_without_intent)).await, sync_refund("re_2"));
        for kind in ["refund.created", "refund.updated", "refund.failed", "charge.refund.updated"] {
            assert_eq!(action_of(event(kind, serde_json::json!({"id": "re_3"}))).await, sync_refund("re_3"), "{kind}");
        }
        for kind in ["charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"] {
            assert_eq!(
                action_of(event(kind, serde_json::json!({"id": "dp_1"}))).await,
                WebhookAction::SyncDispute { provider_dispute_id: "dp_1".to_owned() },
                "{kind}"
            );
        }
        for kind in ["transfer.created", "customer.created"] {
            assert_eq!(action_of(event(kind, serde_json::json!({"id": "x_1"}))).await, WebhookAction::Ignore, "{kind}");
        }
        for kind in ["payout.paid", "payout.failed", "payout.canceled", "payout.reconciliation_completed"] {
            let platform = event(kind, serde_json::json!({"id": "po_1", "object": "payout"}));
            let bank_payout = WebhookAction::SyncBankPayout { provider_payout_id: "po_1".to_owned() };
            assert_eq!(action_of(platform.clone()).await, bank_payout, "{kind}");
            let mut connected = platform;
            connected["account"] = serde_json::json!("acct_1PgafTB7WZ01zgkW");
            assert_eq!(action_of(connected).await, WebhookAction::Ignore, "a connected account's own payout: {kind}");
        }
    }

    #[tokio::test]
    async fn transfer_reversals_and_updates_sync_the_payout() {
        let transfer = serde_json::json!({"id": "tr_1Pgc7BB7WZ01zgkWVJfE40RX", "object": "transfer", "amount": 1100,
            "amount_reversed": 1100, "reversed": true, "destination": "acct_1PgafTB7WZ01zgkW"});
        for kind in ["transfer.reversed", "transfer.updated"] {
            assert_eq!(
                action_of(event(kind, transfer.clone())).await,
                WebhookAction::SyncPayout {
                    method: PayoutMethod::StripeConnect,
                    provider_payout_id: "tr_1Pgc7BB7WZ01zgkWVJfE40RX".to_owned()
                },
                "{kind}"
            );
        }
    }

    #[tokio::test]
    async fn a_signed_body_that_is_no_event_is_malformed() {
        let body = b"[1, 2, 3]".to_vec();
        let header = sign(&body, SECRET, NOW);
        let request = WebhookRequest { headers: vec![(SIGNATURE_HEADER.to_owned(), header)], body };
        let verifier = StripeWebhookVerifier::with_clock(vec![SECRET.to_owned()], || NOW);
        assert!(matches!(verifier.verify(&request).await, Err(WebhookError::Malformed(_))));
    }
}
