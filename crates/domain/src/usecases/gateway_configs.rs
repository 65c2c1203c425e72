//! Admin use cases over stored gateway configurations.

use std::sync::Arc;

use crate::gateway_config::{
    GatewayConfig, GatewayConfigSummary, GatewayCredentials, GatewayMode, credential_names, credentials_mode,
};
use crate::payment::PaymentMethod;
use crate::ports::{Clock, GatewayConfigRepository, IdGenerator, PutGatewayConfigError, StoreError};
use crate::usecases::{Actor, Forbidden};

/// An admin's configuration of a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutGatewayConfig {
    /// Stripe or PayPal.
    pub provider: PaymentMethod,
    /// Test or live.
    pub mode: GatewayMode,
    /// Use it at start-up.
    pub is_active: bool,
    /// The credentials (write-only).
    pub credentials: GatewayCredentials,
    /// Optional API base URL.
    pub api_base: Option<String>,
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayConfigError {
    /// Only admins may.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// Only Stripe and PayPal take stored configurations.
    #[error("only stripe and paypal take gateway configurations")]
    UnsupportedProvider,
    /// A credential the provider does not take.
    #[error("unknown credential {0:?}")]
    UnknownCredential(String),
    /// A required credential is missing or empty.
    #[error("missing credential {0:?}")]
    MissingCredential(&'static str),
    /// The credentials work in the other mode (a live key stored as test,
    /// or a test key as live): test and live money never meet.
    #[error("these credentials are for {0} mode, not the mode they are stored under")]
    ModeMismatch(&'static str),
    /// The API base is not an http(s) URL.
    #[error("api_base must be an http(s) URL")]
    InvalidApiBase,
    /// No encryption key configured.
    #[error(transparent)]
    NoEncryptionKey(PutGatewayConfigError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Gateway configuration use cases.
#[derive(Clone)]
pub struct GatewayConfigService {
    repository: Arc<dyn GatewayConfigRepository>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl GatewayConfigService {
    /// A service over the given ports.
    pub fn new(repository: Arc<dyn GatewayConfigRepository>, clock: Arc<dyn Clock>, ids: Arc<dyn IdGenerator>) -> Self {
        Self { repository, clock, ids }
    }

    /// Creates or replaces the configuration of (provider, mode).
    pub async fn put(&self, actor: Actor, input: PutGatewayConfig) -> Result<GatewayConfigSummary, GatewayConfigError> {
        actor.require_admin()?;
        let (allowed, required) = credential_names(input.provider).ok_or(GatewayConfigError::UnsupportedProvider)?;
        if let Some(unknown) = input.credentials.names().into_iter().find(|n| !allowed.contains(&n.as_str())) {
            return Err(GatewayConfigError::UnknownCredential(unknown));
        }
        if let Some(missing) = required.iter().find(|n| input.credentials.get(n).is_none_or(str::is_empty)) {
            return Err(GatewayConfigError::MissingCredential(missing));
        }
        if let Some(mode) = credentials_mode(input.provider, &input.credentials)
            && mode != input.mode
        {
            return Err(GatewayConfigError::ModeMismatch(mode.as_str()));
        }
        if input.api_base.as_deref().is_some_and(|b| !(b.starts_with("https://") || b.starts_with("http://"))) {
            return Err(GatewayConfigError::InvalidApiBase);
        }
        let config = GatewayConfig {
            id: self.ids.new_id(),
            provider: input.provider,
            mode: input.mode,
            is_active: input.is_active,
            credentials: input.credentials,
            api_base: input.api_base,
            updated_at: self.clock.now(),
        };
        self.repository.put(config, actor).await.map_err(|e| match e {
            PutGatewayConfigError::Store(e) => GatewayConfigError::Store(e),
            other => GatewayConfigError::NoEncryptionKey(other),
        })
    }

    /// Every configuration, without credential values (admin only).
    pub async fn list(&self, actor: Actor) -> Result<Vec<GatewayConfigSummary>, GatewayConfigError> {
        actor.require_admin()?;
        Ok(self.repository.list().await?)
    }
}
