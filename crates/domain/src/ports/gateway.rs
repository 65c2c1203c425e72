//! The gateway ports, one trait per capability: taking payments
//! ([`PaymentGateway`]), refunding them ([`RefundGateway`]) and answering
//! disputes ([`DisputeGateway`]); payouts are [`super::PayoutGateway`]. A
//! gateway implements only what it has; [`super::GatewayDescriptor`]
//! declares which.
//!
//! Nothing here names a gateway: what a buyer must do next is said in
//! gateway-neutral terms ([`NextAction`]).

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::money::{Currency, Money};
use crate::payment::{Payment, PaymentMethod};

/// A secret the buyer's browser needs to finish paying (a client-side
/// confirmation secret): never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }
    /// The secret, for the one response that hands it to the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// What the client must do next to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextAction {
    /// Nothing: the payment needs no client step.
    None,
    /// Confirm through Skillpay's confirm endpoint with one of `tokens`
    /// (a gateway whose buyer step is a token, such as a test gateway).
    ConfirmWithToken {
        /// The gateway that asks.
        provider: PaymentMethod,
        /// Tokens the gateway accepts.
        tokens: Vec<&'static str>,
        /// True when the gateway asks the buyer to authenticate first
        /// (then to confirm again).
        authenticate: bool,
    },
    /// Confirm in the browser with the gateway's own client library,
    /// holding `client_secret`.
    ClientConfirm {
        /// The gateway whose library confirms.
        provider: PaymentMethod,
        /// The secret the library needs.
        client_secret: ClientSecret,
    },
    /// Send the buyer to `url` (the gateway's approval page).
    Redirect {
        /// Where to send the buyer.
        url: String,
    },
}

/// A payment session opened at a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySession {
    /// The gateway's id for the payment.
    pub provider_payment_id: String,
    /// What the client must do next.
    pub next_action: NextAction,
}

/// The gateway's verdict on a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayOutcome {
    /// Paid.
    Succeeded,
    /// Declined; the reason is safe to show (no card data).
    Declined {
        /// Why.
        reason: String,
    },
    /// More from the client is needed.
    RequiresAction(NextAction),
    /// The gateway is still working on it.
    Processing,
    /// Cancelled at the gateway (by us, the buyer or the gateway).
    Canceled,
    /// Still waiting for the buyer to pay: nothing changes.
    AwaitingBuyer,
    /// The buyer approved, and the gateway takes the money only when we
    /// ask it to capture. Reconciliation captures it.
    AwaitingCapture,
}

/// A gateway call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The gateway refused the request as invalid (our bug or bad token).
    #[error("gateway refused the request: {0}")]
    InvalidRequest(String),
    /// The gateway does not know this payment.
    #[error("gateway does not know this payment")]
    UnknownPayment,
    /// The gateway is down, timed out or answered 5xx; retrying may help.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
}

/// Takes payments: every gateway has this capability.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// The method this gateway serves.
    fn method(&self) -> PaymentMethod;
    /// Opens a payment session for `payment` (idempotent per payment id).
    async fn create_session(&self, payment: &Payment) -> Result<GatewaySession, GatewayError>;
    /// Confirms the payment with a client token and answers the verdict.
    async fn confirm(&self, provider_payment_id: &str, token: &str) -> Result<GatewayOutcome, GatewayError>;
    /// Takes the money of a payment the buyer approved
    /// ([`GatewayOutcome::AwaitingCapture`]) and answers the verdict.
    /// Gateways that never answer `AwaitingCapture` keep this default.
    async fn capture(&self, provider_payment_id: &str) -> Result<GatewayOutcome, GatewayError> {
        self.status(provider_payment_id).await
    }
    /// The fingerprint of the card a confirmation token names, when the
    /// gateway tells it before charging (Stripe's PaymentMethod
    /// `card.fingerprint`), so that card rules are screened before money
    /// moves; `None` for a token that names no card. Gateways without
    /// cards keep this default.
    async fn card_fingerprint(&self, token: &str) -> Result<Option<String>, GatewayError> {
        let _ = token;
        Ok(None)
    }
    /// Cancels an unpaid session.
    async fn cancel(&self, provider_payment_id: &str) -> Result<(), GatewayError>;
    /// Asks the gateway for the payment's true state (reconciliation, and
    /// re-reading a webhook's object before acting on it).
    async fn status(&self, provider_payment_id: &str) -> Result<GatewayOutcome, GatewayError>;
    /// What the gateway reports of a paid payment's charge: the processing
    /// fee it kept, in the charge's currency, and its risk verdict; `None`
    /// while it has not reported the fee yet (Stripe settles the figure
    /// after the charge). Gateways that keep no fee and judge no risk (the
    /// sandbox) keep this default: a zero fee, no verdict.
    async fn charge_facts(&self, payment: &Payment) -> Result<Option<ChargeFacts>, GatewayError> {
        Ok(Some(ChargeFacts { fee: Money::zero(payment.amount.currency()), risk: Default::default() }))
    }
}

/// What a gateway reports of a paid payment's charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeFacts {
    /// The processing fee it kept.
    pub fee: Money,
    /// Its risk verdict.
    pub risk: crate::fraud::RiskVerdict,
}

/// Refunds paid payments.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefundGateway: Send + Sync {
    /// Refunds `amount` of a paid payment. `idempotency_key` (the refund's
    /// id) makes a repeated call refund once.
    async fn refund(
        &self,
        provider_payment_id: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayRefund, GatewayError>;
    /// Where a refund made earlier stands now.
    async fn refund_status(&self, provider_refund_id: &str) -> Result<GatewayRefundState, GatewayError>;
    /// Every refund the gateway holds for a payment, whoever made it (its
    /// dashboard, a reversal, Skillpay), as the gateway reports them now.
    async fn refunds_of(&self, provider_payment_id: &str) -> Result<Vec<GatewayRefundRecord>, GatewayError>;
    /// The gateway's id of the payment a refund belongs to (a refund
    /// webhook about a refund Skillpay never made names only the refund).
    /// MUST answer `UnknownPayment` for a refund it does not know.
    async fn payment_of_refund(&self, provider_refund_id: &str) -> Result<String, GatewayError>;
    /// How much of its processing fee the gateway gave back with a
    /// succeeded refund, in `currency`, as it reports it (negative: it
    /// charged more for the refund); `None` while it has not reported it
    /// yet. A gateway that keeps no fee (the sandbox) answers zero. No
    /// default: a wrapper that forgot to pass it on would answer zero for
    /// every gateway.
    async fn fee_returned(&self, provider_refund_id: &str, currency: Currency) -> Result<Option<Money>, GatewayError>;
}

/// One refund of a payment, as its gateway lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRefundRecord {
    /// The gateway's id of the refund.
    pub provider_refund_id: String,
    /// How much went (or goes) back.
    pub amount: Money,
    /// Where it stands.
    pub state: GatewayRefundState,
    /// The Skillpay refund it was made for, when Skillpay made it (the
    /// reference Skillpay attaches to every refund it sends: Stripe's
    /// metadata, PayPal's `custom_id`). `None`: made outside Skillpay.
    pub made_for: Option<String>,
}

/// Reports and answers disputes (chargebacks) of its payments.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DisputeGateway: Send + Sync {
    /// A dispute as the gateway reports it now. MUST answer
    /// `UnknownPayment` for an id it does not know.
    async fn dispute(&self, provider_dispute_id: &str) -> Result<GatewayDispute, GatewayError>;
    /// Submits evidence contesting a dispute; answers the dispute after.
    async fn submit_dispute_evidence(
        &self,
        provider_dispute_id: &str,
        evidence: &DisputeEvidence,
    ) -> Result<GatewayDispute, GatewayError>;
    /// Accepts (closes) a dispute without contesting it: it is lost.
    async fn accept_dispute(&self, provider_dispute_id: &str) -> Result<GatewayDispute, GatewayError>;
}

/// Evidence contesting a dispute, as an admin writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeEvidence {
    /// Why the charge is valid.
    pub explanation: String,
    /// What was sold (course or event, access given).
    pub product_description: Option<String>,
    /// The buyer's email, when known.
    pub customer_email: Option<String>,
}

/// A dispute as a gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayDispute {
    /// The gateway's id of the disputed payment.
    pub provider_payment_id: String,
    /// The disputed amount.
    pub amount: Money,
    /// The gateway's reason code.
    pub reason: String,
    /// Where it stands.
    pub status: crate::dispute::DisputeStatus,
    /// When evidence is due.
    pub evidence_due_by: Option<DateTime<Utc>>,
}

/// A refund as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRefund {
    /// The gateway's id of the refund.
    pub provider_refund_id: String,
    /// Where it stands.
    pub state: GatewayRefundState,
}

/// Where a refund stands at the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayRefundState {
    /// The money went back.
    Succeeded,
    /// Accepted, not final yet (a webhook or a later check settles it).
    Pending,
    /// Refused; the reason is safe to show.
    Failed {
        /// Why.
        reason: String,
    },
}
