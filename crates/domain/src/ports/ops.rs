//! Port for operational figures exported as metrics.

use async_trait::async_trait;

use super::StoreError;

/// Figures read at each metrics scrape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpsGauges {
    /// Payments per status (from the kept aggregates).
    pub payments_by_status: Vec<(String, i64)>,
    /// Age in seconds of the oldest outbox event not yet routed.
    pub outbox_lag_secs: i64,
    /// Age in seconds of the oldest delivery due and not yet delivered.
    pub delivery_lag_secs: i64,
    /// Deliveries dead-lettered.
    pub dead_deliveries: i64,
    /// Age in seconds of the oldest verified webhook not processed yet.
    pub webhook_lag_secs: i64,
}

/// Reads operational figures (cheap, indexed queries).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OpsQueries: Send + Sync {
    /// The figures now.
    async fn gauges(&self) -> Result<OpsGauges, StoreError>;
}
