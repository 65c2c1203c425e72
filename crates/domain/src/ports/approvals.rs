//! Port for dual control: who approved a large money movement first.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::ids::UserId;

/// The first approval of each large money movement (see
/// [`crate::usecases::dual_control`]).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Records `admin` as the first approver of `object_id` unless someone
    /// already is; answers who the first approver is (one per object,
    /// whatever the races).
    async fn first_approval(&self, object_id: String, admin: UserId, at: DateTime<Utc>) -> Result<UserId, StoreError>;
}
