//! Ports for delivering outbox events: their storage (endpoints, routing,
//! leased claims, attempts) and the HTTP sender.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::actor::Actor;
use crate::events::{Delivery, DeliveryAttempt, DeliveryStatus, EventEndpoint};
use crate::ids::{DeliveryId, EndpointId, EventId};
use crate::paging::{Page, PageRequest};

/// Why an endpoint was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateEndpointError {
    /// Secrets cannot be sealed: no encryption key is configured.
    #[error("no encryption key is configured for endpoint secrets")]
    NoEncryptionKey,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a delivery was not replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// Its event is of the other mode than its endpoint (routed before
    /// endpoints had a mode): never sent again.
    #[error("the delivery's event is of another mode than its endpoint")]
    OtherMode,
    /// Its endpoint was removed: nothing is sent to it any more.
    #[error("the delivery's endpoint was removed")]
    EndpointRemoved,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A delivery claimed for sending, with what to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The delivery (its `attempts` before this one).
    pub delivery: Delivery,
    /// The lease taken: the result is recorded only while it holds.
    pub lease_until: DateTime<Utc>,
    /// Where to send.
    pub url: String,
    /// The endpoint's signing secret.
    pub secret: String,
    /// The exact body to send.
    pub body: Vec<u8>,
    /// When the first attempt was made (now, for a first attempt).
    pub first_attempt_at: DateTime<Utc>,
}

/// What an attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Answered 2xx.
    Delivered,
    /// Failed; try again at this time.
    RetryAt(DateTime<Utc>),
    /// Failed for too long: dead-lettered.
    Dead,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// Only in this status.
    pub status: Option<DeliveryStatus>,
    /// Only to this endpoint.
    pub endpoint: Option<EndpointId>,
    /// Only of this event.
    pub event: Option<EventId>,
    /// The page.
    pub page: PageRequest,
}

/// Stores endpoints and deliveries.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventDeliveryStore: Send + Sync {
    /// Stores an endpoint with its secret sealed; `by` (the admin deciding)
    /// is named in the audit log, in the same transaction.
    async fn create_endpoint(
        &self,
        endpoint: EventEndpoint,
        secret: String,
        by: Actor,
    ) -> Result<EventEndpoint, CreateEndpointError>;
    /// Every endpoint, newest first.
    async fn endpoints(&self) -> Result<Vec<EventEndpoint>, StoreError>;
    /// Stops deliveries to an endpoint on `by`'s decision (named in the
    /// audit log); `None` if unknown.
    async fn deactivate_endpoint(&self, id: EndpointId, by: Actor) -> Result<Option<EventEndpoint>, StoreError>;
    /// Routes up to `limit` outbox events not yet routed to the endpoints
    /// that receive them by [`EventEndpoint::receives`] (active, subscribed
    /// to the type, of the event's mode or the event of none; one delivery
    /// each), in one statement for every event; answers how many events it
    /// routed. Concurrent callers route disjoint events.
    async fn route(&self, now: DateTime<Utc>, limit: u32) -> Result<u64, StoreError>;
    /// Queues deliveries to an active endpoint of the events created in
    /// `[from, to)` that it receives (as [`Self::route`] decides) and has
    /// no delivery of yet, due at `now`; answers how many, or `None` for
    /// an endpoint that does not exist or was removed.
    async fn backfill(
        &self,
        endpoint: EndpointId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError>;
    /// Claims up to `limit` due deliveries whose earlier events about the
    /// same object (to the same endpoint) are settled, leasing each until
    /// `lease_until`; concurrent callers claim disjoint deliveries.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;
    /// Records an attempt and its outcome if the lease still holds;
    /// answers whether it did.
    async fn record_attempt(
        &self,
        id: DeliveryId,
        lease_until: DateTime<Utc>,
        attempt: DeliveryAttempt,
        outcome: AttemptOutcome,
    ) -> Result<bool, StoreError>;
    /// Deliveries matching the query, newest first.
    async fn deliveries(&self, query: DeliveryQuery) -> Result<Page<Delivery>, StoreError>;
    /// One delivery with its attempts, oldest first.
    async fn delivery(&self, id: DeliveryId) -> Result<Option<(Delivery, Vec<DeliveryAttempt>)>, StoreError>;
    /// Makes a delivery pending and due at `now` again, unless its event
    /// is of the other mode than its endpoint: that MUST be
    /// [`ReplayError::OtherMode`], with nothing changed. `None` if unknown.
    async fn replay(&self, id: DeliveryId, now: DateTime<Utc>) -> Result<Option<Delivery>, ReplayError>;
}

/// What an endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    /// An HTTP answer with this status.
    Answered(u16),
    /// No answer. A coarse category only ("timed out", "connection
    /// failed", "destination address not allowed", ...), stored and shown
    /// to admins: never the client's own error text, which can name
    /// internal hosts and addresses.
    Failed(String),
}

/// A host name that did not resolve (or not in time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the host name does not resolve")]
pub struct Unresolved;

/// Resolves endpoint host names as a delivery's connection would, so that
/// a registration can be refused when its host leads to an address
/// deliveries may not reach. The sender checks again at each connection:
/// a name can resolve elsewhere later.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait HostResolver: Send + Sync {
    /// Every address `host` (a DNS name, never an address literal)
    /// resolves to now. A name that does not resolve, resolves to nothing
    /// or not within the adapter's time limit MUST be [`Unresolved`].
    async fn resolve(&self, host: &str) -> Result<Vec<std::net::IpAddr>, Unresolved>;
}

/// Sends one signed event over HTTP.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventSender: Send + Sync {
    /// POSTs `body` to `url`, signed with `secret` at `timestamp`.
    async fn send(&self, url: &str, secret: &str, body: &[u8], event_id: &str, timestamp: i64) -> SendResult;
}
