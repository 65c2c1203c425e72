//! PayPal declared once: what the application registers.

use std::sync::Arc;

use domain::breaker::{BreakerPolicy, Breaking};
use domain::gateway_config::GatewayMode;
use domain::ports::{Clock, GatewayDescriptor};

use crate::config::LIVE_API_BASE;
use crate::{PaypalClient, PaypalGateway, PaypalPayouts, PaypalWebhookVerifier};

/// PayPal as the application registers it: checkout payments, refunds,
/// disputes, payouts, webhooks and its books (Transaction Search) over one shared client (one OAuth
/// token), in the mode of its API base, each side behind a circuit
/// breaker (payouts behind their own).
pub fn descriptor(client: &PaypalClient, policy: BreakerPolicy, clock: Arc<dyn Clock>) -> GatewayDescriptor {
    let gateway = Arc::new(Breaking::new("paypal", PaypalGateway::new(client.clone()), policy, clock.clone()));
    let payouts = Arc::new(Breaking::new("PayPal Payouts", PaypalPayouts::new(client.clone()), policy, clock));
    GatewayDescriptor::new(mode_of(client), gateway.clone())
        .refunds(gateway.clone())
        .disputes(gateway.clone())
        .payouts(payouts)
        .webhooks(Arc::new(PaypalWebhookVerifier::new(client.clone())))
        .settlement(gateway)
}

/// Live only against PayPal's live API; its sandbox and any stand-in are
/// test mode.
pub fn mode_of(client: &PaypalClient) -> GatewayMode {
    mode_of_api_base(&client.config().api_base)
}

/// The mode an API base works in: live only for PayPal's live API.
pub fn mode_of_api_base(api_base: &str) -> GatewayMode {
    if api_base.trim_end_matches('/') == LIVE_API_BASE { GatewayMode::Live } else { GatewayMode::Test }
}
