//! Serving stored gateway configurations without a restart.
//!
//! The gateways served are the environment's (`STRIPE_SECRET_KEY`, ...),
//! overridden by the active configurations admins stored. When those change
//! the gateways are rebuilt and swapped into the one [`Gateways`] handle
//! every use case holds, so the next request is served by the new ones and
//! requests in flight finish on the old. The instance that stores a
//! configuration rebuilds at once (through the [`GatewayReloader`] port the
//! use case calls); every instance also re-reads the stored configurations
//! every `SKILLPAY_GATEWAY_REFRESH_SECS` ([`run_gateway_refresh`]), which
//! is how a change made through another instance arrives. A rebuild happens
//! only when the stored configurations differ from the ones last served, so
//! circuit breakers and PayPal's cached token live on between changes.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use domain::gateway_config::{GatewayConfig, GatewayMode};
use domain::payment::PaymentMethod;
use domain::ports::{GatewayConfigRepository, GatewayDescriptor, GatewayReloadError, GatewayReloader, Gateways};
use domain::usecases::gateway_configs::GatewayConfigService;
use tokio::sync::Mutex;

use crate::config::{self, Config};

/// The providers whose configurations admins can store.
const STORED_PROVIDERS: [PaymentMethod; 2] = [PaymentMethod::Stripe, PaymentMethod::Paypal];

/// The active stored configurations, one per provider at most.
pub async fn stored_gateway_configs(store: &dyn GatewayConfigRepository) -> anyhow::Result<Vec<GatewayConfig>> {
    let mut stored = Vec::new();
    for provider in STORED_PROVIDERS {
        let active = store.active(provider).await.with_context(|| format!("reading the {provider:?} configuration"))?;
        stored.extend(active);
    }
    Ok(stored)
}

/// Lets active gateway configurations stored by admins take precedence
/// over the environment's in `config`.
pub async fn apply_stored_gateway_configs(
    config: &mut Config,
    store: &dyn GatewayConfigRepository,
) -> anyhow::Result<()> {
    overlay_stored_gateway_configs(config, &stored_gateway_configs(store).await?)
}

/// Overrides `config`'s gateway settings with `stored` configurations.
///
/// Stripe: the secret key, the webhook secrets if stored (else the
/// environment's stay), the API base if stored. PayPal: the client id,
/// secret and webhook id as a whole, with the API base of the stored mode
/// unless one is stored.
pub fn overlay_stored_gateway_configs(config: &mut Config, stored: &[GatewayConfig]) -> anyhow::Result<()> {
    for configuration in stored {
        match configuration.provider {
            PaymentMethod::Stripe => overlay_stripe(config, configuration),
            PaymentMethod::Paypal => overlay_paypal(config, configuration)?,
            PaymentMethod::Sandbox | PaymentMethod::BankTransfer | PaymentMethod::Wallet => {}
        }
        tracing::info!(
            provider = configuration.provider.as_str(),
            mode = configuration.mode.as_str(),
            "using the stored gateway configuration"
        );
    }
    Ok(())
}

fn overlay_stripe(config: &mut Config, stripe: &GatewayConfig) {
    config.stripe_secret_key = stripe.credentials.get("secret_key").map(str::to_owned);
    // A stored configuration without webhook secrets keeps the
    // environment's rather than turning webhooks off.
    if let Some(list) = stripe.credentials.get("webhook_secret") {
        config.stripe_webhook_secrets =
            list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    }
    if let Some(base) = &stripe.api_base {
        config.stripe_api_base.clone_from(base);
    }
}

fn overlay_paypal(config: &mut Config, paypal: &GatewayConfig) -> anyhow::Result<()> {
    let defaults = config.paypal.clone();
    let (Some(client_id), Some(client_secret)) =
        (paypal.credentials.get("client_id"), paypal.credentials.get("client_secret"))
    else {
        anyhow::bail!("the stored PayPal configuration lacks client_id or client_secret");
    };
    let base = match paypal.mode {
        GatewayMode::Test => adapters_paypal::SANDBOX_API_BASE,
        GatewayMode::Live => adapters_paypal::LIVE_API_BASE,
    };
    config.paypal = Some(config::PaypalSettings {
        client_id: client_id.to_owned(),
        client_secret: client_secret.to_owned(),
        webhook_id: paypal.credentials.get("webhook_id").map(str::to_owned),
        api_base: paypal.api_base.clone().unwrap_or_else(|| base.to_owned()),
        return_url: defaults.as_ref().map_or(config::DEFAULT_PAYPAL_RETURN_URL.to_owned(), |d| d.return_url.clone()),
        cancel_url: defaults.as_ref().map_or(config::DEFAULT_PAYPAL_CANCEL_URL.to_owned(), |d| d.cancel_url.clone()),
    });
    Ok(())
}

/// Rebuilds the served gateways from the environment's configuration and
/// the stored ones, and swaps them in.
pub struct StoredGatewayReloader {
    /// The environment's configuration, before any stored one applies (a
    /// deactivated configuration gives the environment's gateway back).
    environment: Config,
    store: Arc<dyn GatewayConfigRepository>,
    /// Gateways the embedding application (or a test) registered: kept on
    /// every rebuild, after the configured ones.
    extra: Vec<GatewayDescriptor>,
    served: Gateways,
    /// The stored configurations served now. Held across a rebuild, so two
    /// rebuilds (a store and the timer) never interleave.
    applied: Mutex<Vec<GatewayConfig>>,
}

impl StoredGatewayReloader {
    /// A reloader of `served`, which was built from `environment` and
    /// `extra` with no stored configuration applied.
    pub fn new(
        environment: Config,
        store: Arc<dyn GatewayConfigRepository>,
        extra: Vec<GatewayDescriptor>,
        served: Gateways,
    ) -> Self {
        Self { environment, store, extra, served, applied: Mutex::new(Vec::new()) }
    }

    async fn rebuild_if_changed(&self) -> anyhow::Result<()> {
        let mut applied = self.applied.lock().await;
        let stored = stored_gateway_configs(self.store.as_ref()).await?;
        if *applied == stored {
            return Ok(());
        }
        let mut config = self.environment.clone();
        overlay_stored_gateway_configs(&mut config, &stored)?;
        let paypal = crate::paypal_client(&config)?;
        let fresh = self.extra.iter().cloned().fold(crate::gateways(&config, paypal.as_ref())?, Gateways::register);
        self.served.replace(&fresh);
        *applied = stored;
        tracing::info!("gateways rebuilt from the stored configurations");
        crate::log_gateways_served(&self.served);
        Ok(())
    }
}

#[async_trait]
impl GatewayReloader for StoredGatewayReloader {
    async fn reload(&self) -> Result<(), GatewayReloadError> {
        self.rebuild_if_changed().await.map_err(|error| {
            // Error chains name what failed (a setting, a provider), never
            // a credential's value.
            let error = format!("{error:#}");
            tracing::error!(%error, "gateways not rebuilt; the previous ones are still served");
            GatewayReloadError(error)
        })
    }
}

/// Every `interval_secs` until the process stops: serves the stored
/// gateway configurations if they changed (another instance stored one).
pub async fn run_gateway_refresh(
    configs: GatewayConfigService,
    interval_secs: u64,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(interval_secs));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while crate::lifecycle::next_tick(&mut ticker, &mut stopping).await {
        // A failure is logged by the reloader; the next tick tries again.
        let _kept_previous_gateways = configs.refresh().await;
    }
}
