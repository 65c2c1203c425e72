//! Instructor payouts over Stripe Connect: a Transfer from the platform's
//! balance to the instructor's connected account.
//!
//! A created transfer has already moved the money into the connected
//! account, so it is `Paid` at once; what can still happen is a reversal
//! (the platform takes it back), which fails the payout. The connected
//! account's own payouts to its bank (`payout.*` events) are the
//! instructor's business, not ours, and are not followed.

use adapters_http::Method;
use async_trait::async_trait;
use domain::payout::{Payout, PayoutDestination, PayoutMethod};
use domain::ports::{GatewayError, GatewayPayout, GatewayPayoutState, PayoutGateway};

use crate::client::{CallError, StripeClient};
use crate::config::StripeConfig;
use crate::gateway::path_segment;
use crate::wire::{self, Transfer};

/// Metadata key carrying Skillpay's payout id on the Transfer.
pub const PAYOUT_ID_METADATA_KEY: &str = "payout_id";
/// The reason a reversed transfer fails its payout (safe to show).
pub const REVERSED_REASON: &str = "transfer reversed";

/// Stripe Connect as a payout gateway.
#[derive(Clone)]
pub struct StripeConnectPayouts {
    client: StripeClient,
}

impl std::fmt::Debug for StripeConnectPayouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StripeConnectPayouts")
    }
}

impl StripeConnectPayouts {
    /// Payouts with these settings (the same `StripeConfig` as the payment
    /// gateway: transfers are made with the platform's secret key).
    pub fn new(config: StripeConfig) -> Result<Self, GatewayError> {
        Ok(Self { client: StripeClient::new(config)? })
    }
}

/// Where a transfer stands. A partial reversal fails the payout too: the
/// instructor did not keep what the payout says they were paid.
fn state_of(transfer: &Transfer) -> GatewayPayoutState {
    if transfer.reversed || transfer.amount_reversed > 0 {
        GatewayPayoutState::Failed { reason: REVERSED_REASON.to_owned() }
    } else {
        GatewayPayoutState::Paid
    }
}

#[async_trait]
impl PayoutGateway for StripeConnectPayouts {
    fn method(&self) -> PayoutMethod {
        PayoutMethod::StripeConnect
    }

    /// `POST /v1/transfers` with the payout id as `Idempotency-Key`, so a
    /// retry (ours, or after a crash) makes one transfer.
    async fn send(&self, payout: &Payout, destination: &PayoutDestination) -> Result<GatewayPayout, GatewayError> {
        let PayoutDestination::StripeConnect { account_id } = destination else {
            return Err(GatewayError::InvalidRequest("a Stripe Connect payout needs a connected account".to_owned()));
        };
        if payout.amount.is_negative() || payout.amount.is_zero() {
            return Err(GatewayError::InvalidRequest("a transfer needs a positive amount".to_owned()));
        }
        let account_id = path_segment(account_id)
            .map_err(|_| GatewayError::InvalidRequest("the connected account id is malformed".to_owned()))?;
        let (minor, currency) = wire::amount(payout.amount);
        let payout_id = payout.id.to_string();
        let form = vec![
            ("amount".to_owned(), minor.to_string()),
            ("currency".to_owned(), currency),
            ("destination".to_owned(), account_id.to_owned()),
            (format!("metadata[{PAYOUT_ID_METADATA_KEY}]"), payout_id.clone()),
            ("transfer_group".to_owned(), payout_id.clone()),
        ];
        let transfer: Transfer = self
            .client
            .call(Method::POST, "/v1/transfers", &form, Some(&payout_id))
            .await
            .map_err(CallError::into_gateway_error)?;
        let state = state_of(&transfer);
        Ok(GatewayPayout { provider_payout_id: transfer.id, state })
    }

    /// `GET /v1/transfers/{id}`.
    async fn payout_status(&self, provider_payout_id: &str) -> Result<GatewayPayoutState, GatewayError> {
        let path = format!("/v1/transfers/{}", path_segment(provider_payout_id)?);
        let transfer: Transfer =
            self.client.call(Method::GET, &path, &[], None).await.map_err(CallError::into_gateway_error)?;
        Ok(state_of(&transfer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(reversed: bool, amount_reversed: i64) -> Transfer {
        Transfer { id: "tr_1".to_owned(), reversed, amount_reversed }
    }

    #[test]
    fn any_reversal_fails_the_payout() {
        assert_eq!(state_of(&transfer(false, 0)), GatewayPayoutState::Paid);
        let failed = GatewayPayoutState::Failed { reason: REVERSED_REASON.to_owned() };
        assert_eq!(state_of(&transfer(true, 1_100)), failed);
        assert_eq!(state_of(&transfer(false, 100)), failed);
    }
}
