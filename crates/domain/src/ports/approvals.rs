//! Port for dual control: who approved a large money movement first, and
//! what each admin approved alone.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::ids::UserId;
use crate::money::Money;

/// A movement one admin approved alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoleApproval {
    /// The refund's or payout's id.
    pub object_id: String,
    /// What it adds up with (`payment:<id>`, `instructor:<id>`).
    pub group: String,
    /// The admin.
    pub admin: UserId,
    /// Its amount.
    pub amount: Money,
    /// When.
    pub at: DateTime<Utc>,
}

/// The first approval of each large money movement, and the movements each
/// admin approved alone (see [`crate::usecases::dual_control`]).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Records `admin` as the first approver of `object_id` unless someone
    /// already is; answers who the first approver is (one per object,
    /// whatever the races). When this call records it, `announce` is
    /// written with it as an `approval.requested` event, in the same
    /// transaction.
    async fn first_approval(
        &self,
        object_id: String,
        admin: UserId,
        at: DateTime<Utc>,
        announce: Option<crate::approval::AwaitedApproval>,
    ) -> Result<UserId, StoreError>;
    /// Who approved `object_id` first, if anyone has.
    async fn first_approver(&self, object_id: String) -> Result<Option<UserId>, StoreError>;
    /// Records `approval` and answers true when the same admin's sole
    /// approvals in its group and currency since `since`, this one
    /// included, add up to at most `limit`; answers false, recording
    /// nothing, otherwise. True at once when the object was already
    /// approved alone. Decided and recorded atomically per group and admin,
    /// so concurrent approvals cannot both slip under the limit.
    async fn approve_alone(
        &self,
        approval: SoleApproval,
        since: DateTime<Utc>,
        limit: Money,
    ) -> Result<bool, StoreError>;
}
