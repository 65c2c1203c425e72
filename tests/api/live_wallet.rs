//! A live-mode gateway that exists only in these tests (it serves
//! `wallet`): every payment it takes is paid at confirmation. Served next
//! to the sandbox, it makes the app hold both live and test money.

use std::sync::Arc;

use async_trait::async_trait;
use domain::gateway_config::GatewayMode;
use domain::payment::{Payment, PaymentMethod};
use domain::ports::{GatewayDescriptor, GatewayError, GatewayOutcome, GatewaySession, NextAction, PaymentGateway};

struct LiveWallet;

#[async_trait]
impl PaymentGateway for LiveWallet {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Wallet
    }
    async fn create_session(&self, payment: &Payment) -> Result<GatewaySession, GatewayError> {
        Ok(GatewaySession {
            provider_payment_id: format!("live_{}", payment.id.uuid().simple()),
            next_action: NextAction::None,
        })
    }
    async fn confirm(&self, _: &str, _: &str) -> Result<GatewayOutcome, GatewayError> {
        Ok(GatewayOutcome::Succeeded)
    }
    async fn cancel(&self, _: &str) -> Result<(), GatewayError> {
        Ok(())
    }
    async fn status(&self, _: &str) -> Result<GatewayOutcome, GatewayError> {
        Ok(GatewayOutcome::Succeeded)
    }
}

/// The live wallet, ready to register.
pub(crate) fn live_wallet() -> GatewayDescriptor {
    GatewayDescriptor::new(GatewayMode::Live, Arc::new(LiveWallet))
}
