//! Admin use cases over stored gateway configurations. A stored change is
//! served from the next request on, without a restart: after it is stored
//! the [`GatewayReloader`] rebuilds the gateways.

use std::sync::Arc;

use crate::gateway_config::{
    GatewayConfig, GatewayConfigSummary, GatewayCredentials, GatewayMode, credential_names, credentials_mode,
    official_api_base,
};
use crate::payment::PaymentMethod;
use crate::ports::{
    Clock, GatewayConfigRepository, GatewayReloadError, GatewayReloader, IdGenerator, PutGatewayConfigError, StoreError,
};
use crate::usecases::{Actor, Forbidden};

/// An admin's configuration of a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutGatewayConfig {
    /// Stripe or PayPal.
    pub provider: PaymentMethod,
    /// Test or live.
    pub mode: GatewayMode,
    /// Serve it (and deactivate the provider's other mode).
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
    /// A live configuration names another API than the gateway's own.
    #[error("live money goes only to the gateway's own API: leave api_base out or give {0}")]
    LiveApiBase(&'static str),
    /// A live change needs a second admin; this admin's approval is
    /// recorded.
    #[error(
        "a change of live credentials needs a second admin: admin {first} asked for it; another admin must put the same configuration"
    )]
    SecondApprovalRequired {
        /// Who asked first.
        first: crate::ids::UserId,
    },
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
    reloader: Arc<dyn GatewayReloader>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    /// Where the first admin's approval of a live change is kept; without
    /// it one admin changes live credentials alone.
    approvals: Option<Arc<dyn crate::ports::ApprovalStore>>,
}

/// Names a live change by what it sets: two admins approve the same
/// change, and the credentials themselves are never stored with it.
fn change_fingerprint(input: &PutGatewayConfig) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in [input.provider.as_str(), input.mode.as_str(), input.api_base.as_deref().unwrap_or("")] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    for name in input.credentials.names() {
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(input.credentials.get(&name).unwrap_or_default().as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    format!("gateway_config:{}:{}:{}", input.provider.as_str(), input.mode.as_str(), hex::encode(digest))
}

impl GatewayConfigService {
    /// A service over the given ports; `reloader` serves what is stored.
    pub fn new(
        repository: Arc<dyn GatewayConfigRepository>,
        reloader: Arc<dyn GatewayReloader>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self { repository, reloader, clock, ids, approvals: None }
    }

    /// This service with live changes needing two admins, the first one's
    /// approval kept in `approvals`.
    pub fn with_second_approval(self, approvals: Arc<dyn crate::ports::ApprovalStore>) -> Self {
        Self { approvals: Some(approvals), ..self }
    }

    /// Creates or replaces the configuration of (provider, mode), and
    /// serves it (or, deactivated, stops serving it) from the next request
    /// on.
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
        if input.mode == GatewayMode::Live
            && let (Some(base), Some(official)) = (input.api_base.as_deref(), official_api_base(input.provider))
            && base.trim_end_matches('/') != official
        {
            return Err(GatewayConfigError::LiveApiBase(official));
        }
        // Live credentials move real money: putting an active live
        // configuration takes two admins asking for the same change.
        // Switching one off is an emergency stop and takes one.
        if input.mode == GatewayMode::Live
            && input.is_active
            && let Some(approvals) = &self.approvals
        {
            let (fingerprint, now) = (change_fingerprint(&input), self.clock.now());
            let announce = crate::approval::AwaitedApproval {
                object_id: fingerprint.clone(),
                kind: "gateway_config",
                amount: None,
                // Only live configurations wait for a second admin.
                livemode: true,
                first_admin: actor.user_id,
                requested_at: now,
            };
            let first = approvals.first_approval(fingerprint, actor.user_id, now, Some(announce)).await?;
            if let super::dual_control::Approval::AwaitingSecond { first } =
                super::dual_control::Approval::after(first, actor.user_id)
            {
                return Err(GatewayConfigError::SecondApprovalRequired { first });
            }
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
        let stored = self.repository.put(config, actor).await.map_err(|e| match e {
            PutGatewayConfigError::Store(e) => GatewayConfigError::Store(e),
            other => GatewayConfigError::NoEncryptionKey(other),
        })?;
        // The change is stored whatever happens next. A gateway that cannot
        // be built leaves the previous ones serving (the reloader reports
        // why), and the periodic refresh tries again.
        let _kept_previous_gateways = self.reloader.reload().await;
        Ok(stored)
    }

    /// Serves the stored configurations if they changed (another instance
    /// stored one, or at start-up): the service's own periodic refresh.
    pub async fn refresh(&self) -> Result<(), GatewayReloadError> {
        self.reloader.reload().await
    }

    /// Every configuration, without credential values (admin only).
    pub async fn list(&self, actor: Actor) -> Result<Vec<GatewayConfigSummary>, GatewayConfigError> {
        actor.require_admin()?;
        Ok(self.repository.list().await?)
    }
}
