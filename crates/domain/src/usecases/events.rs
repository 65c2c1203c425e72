//! Event endpoints (admin) and the delivery worker's round: route new
//! outbox events to the subscribed endpoints of their mode, claim due deliveries under a
//! lease, send them concurrently outside any transaction, record each
//! attempt with its outcome (delivered, retry later, dead).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::destinations::{Destinations, EndpointHost, EndpointUrl};
use crate::events::{Delivery, DeliveryAttempt, EndpointError, EventEndpoint, RetryPolicy, parse_event_types};
use crate::ids::{DeliveryId, EndpointId};
use crate::paging::Page;
use crate::ports::{
    AttemptOutcome, ClaimedDelivery, Clock, CreateEndpointError, DeliveryQuery, EventDeliveryStore, EventSender,
    Gateways, HostResolver, IdGenerator, ReplayError, SecretSource, SendResult, StoreError,
};
use crate::usecases::{Actor, Forbidden};

/// Outbox events routed per round.
const ROUTE_BATCH: u32 = 500;

/// The ports event delivery needs.
#[derive(Clone)]
pub struct EventPorts {
    /// Endpoints and deliveries.
    pub store: Arc<dyn EventDeliveryStore>,
    /// HTTP.
    pub sender: Arc<dyn EventSender>,
    /// Resolves endpoint host names at registration.
    pub resolver: Arc<dyn HostResolver>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Ids (and randomness for retry jitter).
    pub ids: Arc<dyn IdGenerator>,
    /// Signing secrets.
    pub secrets: Arc<dyn SecretSource>,
    /// The gateways served: a new endpoint that names no mode is live
    /// while a live gateway is served, test otherwise.
    pub gateways: Gateways,
}

/// An endpoint to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRegistration {
    /// Where to POST (checked by [`EndpointUrl::parse`], then its host
    /// resolved and checked).
    pub url: String,
    /// Type names to receive (none or `*`: all).
    pub event_types: Vec<String>,
    /// The mode whose events it receives (`true` live, `false` test);
    /// `None`: live while a live gateway is served, test otherwise (as in
    /// development, where only test money moves).
    pub livemode: Option<bool>,
}

/// Why an event use case failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Admins only.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such endpoint or delivery.
    #[error("not found")]
    NotFound,
    /// The endpoint is unusable.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// Secrets cannot be sealed.
    #[error("no encryption key is configured for endpoint secrets")]
    NoEncryptionKey,
    /// A replay of a delivery whose event is of the other mode than its
    /// endpoint (routed before endpoints had a mode).
    #[error(
        "this delivery's event is about money of the other mode (live or test) than its endpoint receives; it is \
         not sent again"
    )]
    OtherMode,
    /// A replay of a delivery to a removed endpoint.
    #[error("this delivery's endpoint was removed; nothing is sent to it any more")]
    EndpointRemoved,
    /// A backfill window that is empty, in the future, or reaches past
    /// what is kept; the field and why.
    #[error("{0}: {1}")]
    Window(&'static str, String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Outbox events routed to endpoints.
    pub routed: u64,
    /// Deliveries answered 2xx.
    pub delivered: usize,
    /// Deliveries that failed and will be retried.
    pub retried: usize,
    /// Deliveries dead-lettered.
    pub dead: usize,
}

/// Event endpoint and delivery use cases.
#[derive(Clone)]
pub struct EventService {
    ports: EventPorts,
    retry: RetryPolicy,
    lease: Duration,
    destinations: Destinations,
    retention: Duration,
}

/// How long events are kept for a backfill by default: 30 days.
pub const DEFAULT_RETENTION_DAYS: i64 = 30;

impl EventService {
    /// A service retrying by `retry`, leasing claims for `lease` (longer
    /// than a send can take), registering endpoints to public destinations
    /// only.
    pub fn new(ports: EventPorts, retry: RetryPolicy, lease: Duration) -> Self {
        Self {
            ports,
            retry,
            lease,
            destinations: Destinations::PublicOnly,
            retention: Duration::days(DEFAULT_RETENTION_DAYS),
        }
    }

    /// The same, keeping events for a backfill for `retention`.
    pub fn with_retention(self, retention: Duration) -> Self {
        Self { retention, ..self }
    }

    /// The same, registering endpoints to `destinations` (development
    /// allows private ones). The sender must be built with the same
    /// policy: it is the one that checks each connection.
    pub fn with_destinations(self, destinations: Destinations) -> Self {
        Self { destinations, ..self }
    }

    /// Registers an endpoint (admin, of either mode); answers it with its
    /// signing secret, shown this once.
    pub async fn create_endpoint(
        &self,
        actor: Actor,
        registration: EndpointRegistration,
    ) -> Result<(EventEndpoint, String), EventError> {
        actor.require_admin()?;
        // The cheap checks first: a request refused anyway resolves nothing.
        let event_types = parse_event_types(&registration.event_types)?;
        let url = self.checked_url(&registration.url).await?;
        let endpoint = EventEndpoint {
            id: EndpointId::from_uuid(self.ports.ids.new_id()),
            url: url.as_str().to_owned(),
            event_types,
            livemode: registration.livemode.unwrap_or_else(|| self.ports.gateways.serves_live()),
            active: true,
            created_at: self.ports.clock.now(),
        };
        let secret = self.secret()?;
        let stored = self.ports.store.create_endpoint(endpoint, secret.clone(), actor).await.map_err(|e| match e {
            CreateEndpointError::NoEncryptionKey => EventError::NoEncryptionKey,
            CreateEndpointError::Store(e) => EventError::Store(e),
        })?;
        Ok((stored, secret))
    }

    /// `raw` parsed, and with only public destinations allowed, its host
    /// name resolved: refused when it does not resolve or when any of its
    /// addresses is not public (a connection may pick any of them).
    async fn checked_url(&self, raw: &str) -> Result<EndpointUrl, EndpointError> {
        let url = EndpointUrl::parse(raw, self.destinations)?;
        if self.destinations == Destinations::PublicOnly
            && let Some(EndpointHost::Name(name)) = url.host()
        {
            let addresses = self.ports.resolver.resolve(name).await.map_err(|_| EndpointError::Destination)?;
            if addresses.is_empty() || !addresses.iter().all(|address| self.destinations.admits(*address)) {
                return Err(EndpointError::Destination);
            }
        }
        Ok(url)
    }

    /// Every endpoint (admin).
    pub async fn endpoints(&self, actor: Actor) -> Result<Vec<EventEndpoint>, EventError> {
        actor.require_admin()?;
        Ok(self.ports.store.endpoints().await?)
    }

    /// Stops deliveries to an endpoint (admin).
    pub async fn remove_endpoint(&self, actor: Actor, id: EndpointId) -> Result<EventEndpoint, EventError> {
        actor.require_admin()?;
        self.ports.store.deactivate_endpoint(id, actor).await?.ok_or(EventError::NotFound)
    }

    /// Deliveries (admin).
    pub async fn deliveries(&self, actor: Actor, query: DeliveryQuery) -> Result<Page<Delivery>, EventError> {
        actor.require_admin()?;
        Ok(self.ports.store.deliveries(query).await?)
    }

    /// One delivery with its attempts (admin).
    pub async fn delivery(&self, actor: Actor, id: DeliveryId) -> Result<(Delivery, Vec<DeliveryAttempt>), EventError> {
        actor.require_admin()?;
        self.ports.store.delivery(id).await?.ok_or(EventError::NotFound)
    }

    /// Sends a delivery again now, whatever its status (admin), unless its
    /// event is of the other mode than its endpoint (a delivery routed
    /// before endpoints had a mode).
    pub async fn replay(&self, actor: Actor, id: DeliveryId) -> Result<Delivery, EventError> {
        actor.require_admin()?;
        match self.ports.store.replay(id, self.ports.clock.now()).await {
            Ok(replayed) => replayed.ok_or(EventError::NotFound),
            Err(ReplayError::OtherMode) => Err(EventError::OtherMode),
            Err(ReplayError::EndpointRemoved) => Err(EventError::EndpointRemoved),
            Err(ReplayError::Store(e)) => Err(EventError::Store(e)),
        }
    }

    /// Queues for an endpoint the events of `from` up to `to` (default:
    /// now) that it receives (its types and mode) and has not received
    /// yet: events from before it existed, or that found no endpoint.
    /// `from` may reach back as far as events are kept. Answers how many
    /// deliveries were queued; they go out in event order per object, as
    /// any delivery.
    pub async fn backfill(
        &self,
        actor: Actor,
        id: EndpointId,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    ) -> Result<u64, EventError> {
        actor.require_admin()?;
        let now = self.ports.clock.now();
        let to = to.unwrap_or(now).min(now);
        let kept_since = now - self.retention;
        if from < kept_since {
            let days = self.retention.num_days();
            return Err(EventError::Window("from", format!("events are kept for {days} days: from {kept_since} on")));
        }
        if from >= to {
            return Err(EventError::Window("to", "must be after from, and from must be in the past".to_owned()));
        }
        self.ports.store.backfill(id, from, to, now).await?.ok_or(EventError::NotFound)
    }

    /// One round of the delivery worker: routes new events, then sends up
    /// to `limit` due deliveries concurrently and records each outcome.
    pub async fn deliver_due(&self, limit: u32) -> Result<DeliveryReport, StoreError> {
        let now = self.ports.clock.now();
        let routed = self.ports.store.route(now, ROUTE_BATCH).await?;
        let claimed = self.ports.store.claim_due(now, now + self.lease, limit).await?;
        let outcomes = futures::future::join_all(claimed.into_iter().map(|c| self.attempt(c))).await;
        let mut report = DeliveryReport { routed, ..DeliveryReport::default() };
        for outcome in outcomes {
            match outcome? {
                Some(AttemptOutcome::Delivered) => report.delivered += 1,
                Some(AttemptOutcome::RetryAt(_)) => report.retried += 1,
                Some(AttemptOutcome::Dead) => report.dead += 1,
                None => {}
            }
        }
        Ok(report)
    }

    async fn attempt(&self, claimed: ClaimedDelivery) -> Result<Option<AttemptOutcome>, StoreError> {
        let started = self.ports.clock.now();
        let event_id = claimed.delivery.event_id.to_string();
        let result =
            self.ports.sender.send(&claimed.url, &claimed.secret, &claimed.body, &event_id, started.timestamp()).await;
        let finished = self.ports.clock.now();
        let (response_status, error) = match result {
            SendResult::Answered(status) => (Some(status), None),
            SendResult::Failed(error) => (None, Some(error)),
        };
        let outcome = if response_status.is_some_and(|s| (200..300).contains(&s)) {
            AttemptOutcome::Delivered
        } else {
            let attempts = claimed.delivery.attempts + 1;
            match self.retry.next_attempt(
                attempts,
                claimed.first_attempt_at,
                finished,
                crate::events::jitter(self.ports.ids.as_ref()),
            ) {
                Some(at) => AttemptOutcome::RetryAt(at),
                None => AttemptOutcome::Dead,
            }
        };
        let attempt = DeliveryAttempt {
            at: started,
            response_status,
            error,
            duration_ms: (finished - started).num_milliseconds(),
        };
        let recorded =
            self.ports.store.record_attempt(claimed.delivery.id, claimed.lease_until, attempt, outcome).await?;
        Ok(recorded.then_some(outcome))
    }

    /// A signing secret: `whsec_` and 256 secure random bits, in hex.
    fn secret(&self) -> Result<String, StoreError> {
        let hex: String = self.ports.secrets.secret_bytes()?.iter().map(|b| format!("{b:02x}")).collect();
        Ok(format!("whsec_{hex}"))
    }
}
