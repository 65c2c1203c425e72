//! Skillpay's built-in **sandbox** payment gateway: no account, no network,
//! no real money. Like a card network's test mode, fixed test tokens decide
//! the outcome, so the whole purchase flow can be tried and tested:
//!
//! | token                     | outcome                                        |
//! |---------------------------|------------------------------------------------|
//! | `sandbox_success`         | the payment succeeds                           |
//! | `sandbox_decline`         | the payment is declined (`card_declined`)      |
//! | `sandbox_requires_action` | authentication is needed; confirm again        |
//!
//! A token may name a test card after a colon, `sandbox_decline:card7`
//! (1 to 32 letters and digits): the card's fingerprint is then
//! `sbxcard7`, which card rules and the block list screen like a real
//! card's. A plain token names no card.
//!
//! It keeps no state, so any number of app instances can share it: a
//! session id is `sbx_` plus the payment id.
#![forbid(unsafe_code)]

mod payouts;

pub use payouts::{DECLINED_ACCOUNT, DECLINED_EMAIL_PREFIX, SandboxPayouts};

use std::sync::Arc;

use async_trait::async_trait;
use domain::gateway_config::GatewayMode;
use domain::money::{Currency, Money};
use domain::payment::{Payment, PaymentMethod};
use domain::payout::PayoutMethod;
use domain::ports::{
    GatewayDescriptor, GatewayError, GatewayOutcome, GatewayRefund, GatewayRefundRecord, GatewayRefundState,
    GatewaySession, NextAction, PaymentGateway, RefundGateway,
};

/// Token that makes a payment succeed.
pub const TOKEN_SUCCESS: &str = "sandbox_success";
/// Token that makes a payment be declined.
pub const TOKEN_DECLINE: &str = "sandbox_decline";
/// Token that asks for authentication first.
pub const TOKEN_REQUIRES_ACTION: &str = "sandbox_requires_action";
/// Prefix of sandbox session ids.
pub const SESSION_PREFIX: &str = "sbx_";

/// Every token the sandbox accepts.
const TOKENS: [&str; 3] = [TOKEN_SUCCESS, TOKEN_DECLINE, TOKEN_REQUIRES_ACTION];

/// The sandbox gateway.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxGateway;

/// The sandbox as the application registers it: test mode, payments and
/// refunds, and stand-in payout rails for Stripe Connect and PayPal that
/// serve only while no real rail is registered. It has no disputes and no
/// webhooks.
pub fn descriptor() -> GatewayDescriptor {
    GatewayDescriptor::new(GatewayMode::Test, Arc::new(SandboxGateway))
        .refunds(Arc::new(SandboxGateway))
        .stand_in_payouts(Arc::new(SandboxPayouts::new(PayoutMethod::StripeConnect)))
        .stand_in_payouts(Arc::new(SandboxPayouts::new(PayoutMethod::Paypal)))
}

/// Asks for one of the tokens; `authenticate` after `sandbox_requires_action`
/// (then only success or decline are left to choose).
fn confirm_with_token(authenticate: bool) -> NextAction {
    let tokens = if authenticate { vec![TOKEN_SUCCESS, TOKEN_DECLINE] } else { TOKENS.to_vec() };
    NextAction::ConfirmWithToken { provider: PaymentMethod::Sandbox, tokens, authenticate }
}

#[async_trait]
impl PaymentGateway for SandboxGateway {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Sandbox
    }

    async fn create_session(&self, payment: &Payment) -> Result<GatewaySession, GatewayError> {
        Ok(GatewaySession {
            provider_payment_id: format!("{SESSION_PREFIX}{}", payment.id.uuid().simple()),
            next_action: confirm_with_token(false),
        })
    }

    async fn confirm(&self, provider_payment_id: &str, token: &str) -> Result<GatewayOutcome, GatewayError> {
        if !provider_payment_id.starts_with(SESSION_PREFIX) {
            return Err(GatewayError::UnknownPayment);
        }
        let (token, _card) = token.split_once(':').unwrap_or((token, ""));
        match token {
            TOKEN_SUCCESS => Ok(GatewayOutcome::Succeeded),
            TOKEN_DECLINE => Ok(GatewayOutcome::Declined { reason: "card_declined (sandbox)".to_owned() }),
            TOKEN_REQUIRES_ACTION => Ok(GatewayOutcome::RequiresAction(confirm_with_token(true))),
            _ => Err(GatewayError::InvalidRequest(format!(
                "unknown sandbox token; use {TOKEN_SUCCESS}, {TOKEN_DECLINE} or {TOKEN_REQUIRES_ACTION}"
            ))),
        }
    }

    async fn cancel(&self, provider_payment_id: &str) -> Result<(), GatewayError> {
        if provider_payment_id.starts_with(SESSION_PREFIX) { Ok(()) } else { Err(GatewayError::UnknownPayment) }
    }

    /// The test card a token names after its colon, if any.
    async fn card_fingerprint(&self, token: &str) -> Result<Option<String>, GatewayError> {
        let Some((_, card)) = token.split_once(':') else {
            return Ok(None);
        };
        let valid = (1..=32).contains(&card.len()) && card.chars().all(|c| c.is_ascii_alphanumeric());
        if !valid {
            return Err(GatewayError::InvalidRequest("a sandbox test card is 1 to 32 letters and digits".to_owned()));
        }
        Ok(Some(format!("sbx{card}")))
    }

    /// The sandbox keeps no state: a session is always waiting for the
    /// client's confirmation until it is confirmed.
    async fn status(&self, provider_payment_id: &str) -> Result<GatewayOutcome, GatewayError> {
        if !provider_payment_id.starts_with(SESSION_PREFIX) {
            return Err(GatewayError::UnknownPayment);
        }
        Ok(GatewayOutcome::AwaitingBuyer)
    }
}

#[async_trait]
impl RefundGateway for SandboxGateway {
    /// Sandbox refunds always succeed at once.
    async fn refund(
        &self,
        provider_payment_id: &str,
        _amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayRefund, GatewayError> {
        if !provider_payment_id.starts_with(SESSION_PREFIX) {
            return Err(GatewayError::UnknownPayment);
        }
        Ok(GatewayRefund { provider_refund_id: format!("sbx_{idempotency_key}"), state: GatewayRefundState::Succeeded })
    }

    /// Sandbox refunds are settled when made.
    async fn refund_status(&self, provider_refund_id: &str) -> Result<GatewayRefundState, GatewayError> {
        if provider_refund_id.starts_with("sbx_re_") {
            Ok(GatewayRefundState::Succeeded)
        } else {
            Err(GatewayError::UnknownPayment)
        }
    }

    /// The sandbox keeps no record and has no dashboard: every refund of
    /// a sandbox payment is one Skillpay made and already knows.
    async fn refunds_of(&self, provider_payment_id: &str) -> Result<Vec<GatewayRefundRecord>, GatewayError> {
        if provider_payment_id.starts_with(SESSION_PREFIX) { Ok(Vec::new()) } else { Err(GatewayError::UnknownPayment) }
    }

    /// No refund is made at the sandbox outside Skillpay.
    async fn payment_of_refund(&self, _provider_refund_id: &str) -> Result<String, GatewayError> {
        Err(GatewayError::UnknownPayment)
    }

    /// The sandbox keeps no fee, so gives none back.
    async fn fee_returned(&self, _provider_refund_id: &str, currency: Currency) -> Result<Option<Money>, GatewayError> {
        Ok(Some(Money::zero(currency)))
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;

    #[test]
    fn each_token_gives_its_outcome() {
        let gateway = SandboxGateway;
        assert_eq!(block_on(gateway.confirm("sbx_1", TOKEN_SUCCESS)), Ok(GatewayOutcome::Succeeded));
        assert!(matches!(block_on(gateway.confirm("sbx_1", TOKEN_DECLINE)), Ok(GatewayOutcome::Declined { .. })));
        assert_eq!(
            block_on(gateway.confirm("sbx_1", TOKEN_REQUIRES_ACTION)),
            Ok(GatewayOutcome::RequiresAction(confirm_with_token(true)))
        );
        assert!(matches!(block_on(gateway.confirm("sbx_1", "4242424242424242")), Err(GatewayError::InvalidRequest(_))));
    }

    #[test]
    fn a_token_may_name_a_test_card_with_its_fingerprint() {
        let gateway = SandboxGateway;
        assert_eq!(block_on(gateway.card_fingerprint("sandbox_decline:card7")), Ok(Some("sbxcard7".to_owned())));
        assert_eq!(block_on(gateway.card_fingerprint(TOKEN_DECLINE)), Ok(None));
        assert!(block_on(gateway.card_fingerprint("sandbox_decline:a b")).is_err());
        assert!(matches!(
            block_on(gateway.confirm("sbx_1", "sandbox_decline:card7")),
            Ok(GatewayOutcome::Declined { .. })
        ));
    }

    #[test]
    fn foreign_session_ids_are_unknown() {
        let gateway = SandboxGateway;
        assert_eq!(block_on(gateway.confirm("pi_123", TOKEN_SUCCESS)), Err(GatewayError::UnknownPayment));
        assert_eq!(block_on(gateway.cancel("pi_123")), Err(GatewayError::UnknownPayment));
    }
}
