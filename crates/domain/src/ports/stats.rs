//! Port for the kept aggregates behind statistics and earnings.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::StoreError;
use crate::gateway_config::GatewayMode;
use crate::ids::UserId;
use crate::stats::{MonthlyEarnings, RangeAggregates};

/// Reads kept aggregates; each answer's cost depends on the date range, not
/// on the number of payments. Every read is of one mode's money: the mode
/// is part of the aggregates' key, so live and test figures never mix.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait StatsQueries: Send + Sync {
    /// `mode`'s payments created from `from` to `to` (inclusive, UTC days), summed
    /// per status, method and currency and per day, currency and whether
    /// settled; and the disputes opened in those days, per currency and
    /// outcome (of `mode` too). One read: one connection, one round trip.
    async fn range(&self, mode: GatewayMode, from: NaiveDate, to: NaiveDate) -> Result<RangeAggregates, StoreError>;
    /// The instructor's settled sales of `mode` completed in the months
    /// from `from` to `to`, per month, item and currency, with their
    /// refunds and the gateway fees the instructor bore.
    async fn instructor_months(
        &self,
        instructor: UserId,
        mode: GatewayMode,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<MonthlyEarnings>, StoreError>;
    /// Folds the write shards of days before `before_day` and months before
    /// `before_month` into one row per key (the sums unchanged), so reads
    /// over past ranges sum fewer rows; answers the rows folded into.
    async fn fold_shards(&self, before_day: NaiveDate, before_month: NaiveDate) -> Result<u64, StoreError>;
}
