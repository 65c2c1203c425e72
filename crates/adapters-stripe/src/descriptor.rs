//! Stripe declared once: what the application registers.

use std::sync::Arc;

use domain::breaker::{BreakerPolicy, Breaking};
use domain::gateway_config::GatewayMode;
use domain::ports::{Clock, GatewayDescriptor, GatewayError};

use crate::{StripeConfig, StripeConnectPayouts, StripeGateway, StripeWebhookVerifier};

/// Stripe as the application registers it: payments, refunds, disputes,
/// Connect payouts, webhooks and its books (balance transactions, payouts), in the mode of its secret key, each side
/// behind a circuit breaker (payouts behind their own).
pub fn descriptor(
    config: StripeConfig,
    policy: BreakerPolicy,
    clock: Arc<dyn Clock>,
) -> Result<GatewayDescriptor, GatewayError> {
    let mode = mode_of_key(&config.secret_key);
    let verifier = Arc::new(StripeWebhookVerifier::new(config.webhook_secrets.clone()));
    let payouts = StripeConnectPayouts::new(config.clone())?;
    let payouts = Arc::new(Breaking::new("Stripe Connect", payouts, policy, clock.clone()));
    let gateway = Arc::new(Breaking::new("stripe", StripeGateway::new(config)?, policy, clock));
    Ok(GatewayDescriptor::new(mode, gateway.clone())
        .refunds(gateway.clone())
        .disputes(gateway.clone())
        .payouts(payouts)
        .webhooks(verifier)
        .settlement(gateway))
}

/// The mode a secret key works in: live keys (`sk_live_…`, restricted
/// `rk_live_…`) move real money; every other key is treated as a test key.
pub fn mode_of_key(secret_key: &str) -> GatewayMode {
    domain::gateway_config::stripe_key_mode(secret_key).unwrap_or(GatewayMode::Test)
}
