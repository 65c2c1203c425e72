//! The sandbox's payout gateways, standing in for Stripe Connect and PayPal
//! Payouts when no keys are configured. Stateless like the payment side:
//! the id it answers encodes the outcome.
//!
//! | destination                                   | outcome                          |
//! |-----------------------------------------------|----------------------------------|
//! | Stripe account `acct_sandboxdecline`          | refused: the payout fails        |
//! | PayPal email starting `decline@`              | refused: the payout fails        |
//! | any other Stripe account                      | paid at once (like a transfer)   |
//! | any other PayPal email                        | pending, then paid when asked    |

use async_trait::async_trait;
use domain::payout::{Payout, PayoutDestination, PayoutMethod};
use domain::ports::{GatewayError, GatewayPayout, GatewayPayoutState, PayoutGateway};

/// Stripe connected account the sandbox refuses.
pub const DECLINED_ACCOUNT: &str = "acct_sandboxdecline";
/// Local part of the PayPal emails the sandbox refuses.
pub const DECLINED_EMAIL_PREFIX: &str = "decline@";

const PAID: &str = "sbxpo_paid_";
const PENDING: &str = "sbxpo_pending_";
const FAILED: &str = "sbxpo_failed_";
const REFUSAL: &str = "the sandbox refused this destination";

/// A sandbox payout gateway serving one method.
#[derive(Debug, Clone, Copy)]
pub struct SandboxPayouts {
    method: PayoutMethod,
}

impl SandboxPayouts {
    /// A sandbox for `method` (Stripe Connect or PayPal; bank transfers are
    /// settled by an admin and need no gateway).
    pub fn new(method: PayoutMethod) -> Self {
        Self { method }
    }
}

#[async_trait]
impl PayoutGateway for SandboxPayouts {
    fn method(&self) -> PayoutMethod {
        self.method
    }

    async fn send(&self, payout: &Payout, destination: &PayoutDestination) -> Result<GatewayPayout, GatewayError> {
        let simple = payout.id.uuid().simple();
        let (prefix, state) = match destination {
            PayoutDestination::StripeConnect { account_id } if self.method == PayoutMethod::StripeConnect => {
                if account_id == DECLINED_ACCOUNT {
                    (FAILED, GatewayPayoutState::Failed { reason: REFUSAL.to_owned() })
                } else {
                    (PAID, GatewayPayoutState::Paid)
                }
            }
            PayoutDestination::Paypal { email } if self.method == PayoutMethod::Paypal => {
                if email.starts_with(DECLINED_EMAIL_PREFIX) {
                    (FAILED, GatewayPayoutState::Failed { reason: REFUSAL.to_owned() })
                } else {
                    (PENDING, GatewayPayoutState::Pending)
                }
            }
            _ => return Err(GatewayError::InvalidRequest("destination of another payout method".to_owned())),
        };
        Ok(GatewayPayout { provider_payout_id: format!("{prefix}{simple}"), state })
    }

    async fn payout_status(&self, provider_payout_id: &str) -> Result<GatewayPayoutState, GatewayError> {
        if provider_payout_id.starts_with(PAID) || provider_payout_id.starts_with(PENDING) {
            Ok(GatewayPayoutState::Paid)
        } else if provider_payout_id.starts_with(FAILED) {
            Ok(GatewayPayoutState::Failed { reason: REFUSAL.to_owned() })
        } else {
            Err(GatewayError::UnknownPayment)
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use domain::ids::{PayoutId, UserId};
    use domain::money::{Currency, Money};
    use domain::payout::PayoutStatus;

    use super::*;

    fn payout(method: PayoutMethod) -> Payout {
        Payout {
            id: PayoutId::from_uuid(uuid::Uuid::now_v7()),
            instructor_id: UserId::new(7),
            amount: Money::from_minor(2_500, Currency::USD),
            method,
            status: PayoutStatus::Processing,
            destination_masked: String::new(),
            transaction_id: None,
            failure_reason: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            paid_at: None,
            approved_by: None,
            approved_at: None,
            admin_note: None,
            livemode: false,
        }
    }

    #[tokio::test]
    async fn stripe_transfers_are_paid_at_once_unless_declined() {
        let gateway = SandboxPayouts::new(PayoutMethod::StripeConnect);
        let p = payout(PayoutMethod::StripeConnect);
        let sent = gateway.send(&p, &PayoutDestination::StripeConnect { account_id: "acct_123".into() }).await.unwrap();
        assert_eq!(sent.state, GatewayPayoutState::Paid);
        assert_eq!(gateway.payout_status(&sent.provider_payout_id).await, Ok(GatewayPayoutState::Paid));
        let refused =
            gateway.send(&p, &PayoutDestination::StripeConnect { account_id: DECLINED_ACCOUNT.into() }).await.unwrap();
        assert!(matches!(refused.state, GatewayPayoutState::Failed { .. }));
        assert!(matches!(
            gateway.payout_status(&refused.provider_payout_id).await,
            Ok(GatewayPayoutState::Failed { .. })
        ));
    }

    #[tokio::test]
    async fn paypal_payouts_are_pending_then_paid() {
        let gateway = SandboxPayouts::new(PayoutMethod::Paypal);
        let sent = gateway
            .send(&payout(PayoutMethod::Paypal), &PayoutDestination::Paypal { email: "t@example.com".into() })
            .await
            .unwrap();
        assert_eq!(sent.state, GatewayPayoutState::Pending);
        assert_eq!(gateway.payout_status(&sent.provider_payout_id).await, Ok(GatewayPayoutState::Paid));
        assert_eq!(gateway.payout_status("po_other").await, Err(GatewayError::UnknownPayment));
    }

    #[tokio::test]
    async fn a_destination_of_another_method_is_refused() {
        let gateway = SandboxPayouts::new(PayoutMethod::Paypal);
        let result = gateway
            .send(&payout(PayoutMethod::Paypal), &PayoutDestination::StripeConnect { account_id: "acct_1".into() })
            .await;
        assert!(matches!(result, Err(GatewayError::InvalidRequest(_))));
    }
}
