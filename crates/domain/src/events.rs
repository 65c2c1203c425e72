//! Delivering outbox events to the platform's endpoints: endpoints and
//! their subscriptions, deliveries and their attempts, the retry schedule
//! and the body an endpoint receives.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::ids::{DeliveryId, EndpointId, EventId};
use crate::outbox::EventType;

/// Where events are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEndpoint {
    /// Its id.
    pub id: EndpointId,
    /// Where to POST.
    pub url: String,
    /// The types it receives (empty: all).
    pub event_types: Vec<EventType>,
    /// The mode whose events it receives: live money (`true`) or test
    /// money (`false`), chosen once, at registration.
    pub livemode: bool,
    /// False once removed.
    pub active: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

impl EventEndpoint {
    /// Whether it receives events of `event_type`.
    pub fn subscribes_to(&self, event_type: EventType) -> bool {
        self.event_types.is_empty() || self.event_types.contains(&event_type)
    }

    /// Whether it receives an event of mode `livemode` (see
    /// [`event_livemode`]): one of its own mode, or one of no mode (about an
    /// object that is no money of either mode, such as a coupon), which
    /// every endpoint receives.
    pub fn receives_mode(&self, livemode: Option<bool>) -> bool {
        livemode.is_none_or(|livemode| livemode == self.livemode)
    }

    /// Whether an event of `event_type` and mode `livemode` is routed to it:
    /// the rule the routing statement of the store applies to every event
    /// at once.
    pub fn receives(&self, event_type: EventType, livemode: Option<bool>) -> bool {
        self.active && self.subscribes_to(event_type) && self.receives_mode(livemode)
    }
}

/// The mode of an event: its object's `livemode` (payments, refunds,
/// disputes, and any object that gains the field), or `None` when the
/// object has no mode. Read from the object as events carry it, so an
/// object that starts carrying `livemode` is routed by it without change.
pub fn event_livemode(object: &Value) -> Option<bool> {
    object.get("livemode").and_then(Value::as_bool)
}

/// Why an endpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not a usable URL (see [`EndpointUrl::parse`](crate::destinations::EndpointUrl::parse)).
    #[error(
        "url must be an https:// URL with a host and no user name or password, at most 2048 characters \
         (http:// only where private destinations are allowed, for development)"
    )]
    Url,
    /// The host is, or resolves to, an address deliveries may not reach,
    /// or does not resolve (see [`crate::destinations`]).
    #[error(
        "the url's host must resolve, and only to public addresses: loopback, private, link-local, shared \
         (100.64.0.0/10), unique-local and other special-purpose addresses are refused"
    )]
    Destination,
    /// An unknown event type.
    #[error("unknown event type {0:?}")]
    EventType(String),
}

/// Parses subscribed type names (`*` or none: all).
pub fn parse_event_types(names: &[String]) -> Result<Vec<EventType>, EndpointError> {
    if names.iter().any(|n| n == "*") {
        return Ok(Vec::new());
    }
    let mut types = Vec::new();
    for name in names {
        let event_type = EventType::parse(name).ok_or_else(|| EndpointError::EventType(name.clone()))?;
        if !types.contains(&event_type) {
            types.push(event_type);
        }
    }
    Ok(types)
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// An attempt was answered 2xx.
    Delivered,
    /// Retried for a day without success (dead-lettered); can be replayed.
    Dead,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [DeliveryStatus; 3] = [Self::Pending, Self::Delivered, Self::Dead];

    /// Stable name.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    /// Parses a stable name.
    pub fn parse(name: &str) -> Option<DeliveryStatus> {
        name.parse().ok()
    }
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id.
    pub id: DeliveryId,
    /// The event.
    pub event_id: EventId,
    /// Its type.
    pub event_type: String,
    /// The object it is about.
    pub aggregate_id: String,
    /// The endpoint.
    pub endpoint_id: EndpointId,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: DateTime<Utc>,
    /// The last answer's HTTP status.
    pub last_status: Option<u16>,
    /// The last transport error.
    pub last_error: Option<String>,
    /// When it was routed.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The answer's HTTP status, if any.
    pub response_status: Option<u16>,
    /// The transport error, if no answer.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}

/// The retry schedule: exponential backoff with full jitter, then dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first retry's upper bound.
    pub base: Duration,
    /// The largest delay.
    pub cap: Duration,
    /// Dead once the first attempt is older than this.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base: Duration::seconds(30), cap: Duration::hours(1), give_up_after: Duration::hours(24) }
    }
}

impl RetryPolicy {
    /// The delay before the attempt after `attempts` failed ones: uniform
    /// in `[0, min(cap, base × 2^(attempts-1))]`, `jitter` in `0..=1000`
    /// picking the point (per mille).
    pub fn delay(&self, attempts: u32, jitter: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(20);
        let ceiling = self.base.num_milliseconds().saturating_mul(1_i64 << exponent).min(self.cap.num_milliseconds());
        Duration::milliseconds(ceiling.saturating_mul(i64::from(jitter.min(1_000))) / 1_000)
    }

    /// After a failed attempt at `now` of a delivery first tried at
    /// `first_attempt`: the next attempt's time, or `None` (dead).
    pub fn next_attempt(
        &self,
        attempts: u32,
        first_attempt: DateTime<Utc>,
        now: DateTime<Utc>,
        jitter: u32,
    ) -> Option<DateTime<Utc>> {
        if now - first_attempt >= self.give_up_after {
            return None;
        }
        Some(now + self.delay(attempts, jitter))
    }
}

/// A retry's jitter, 0..=1000 (thousandths of the delay), from a fresh
/// id's random bits.
pub fn jitter(ids: &dyn crate::ports::IdGenerator) -> u32 {
    let bytes = ids.new_id().into_bytes();
    u32::from(u16::from_le_bytes([bytes[14], bytes[15]])) % 1_001
}

/// The JSON body an endpoint receives. An event about money of one mode
/// (a payment, a refund) says which, as its object does: `livemode`.
pub fn event_body(id: EventId, event_type: &str, created_at: DateTime<Utc>, object: &Value) -> Vec<u8> {
    let mut body = json!({
        "id": id.to_string(),
        "type": event_type,
        "created_at": created_at,
        "data": {"object": object},
    });
    if let Some(livemode) = event_livemode(object) {
        body["livemode"] = Value::Bool(livemode);
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_within_the_cap_and_jitter_spans_them() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1, 1_000), Duration::seconds(30));
        assert_eq!(policy.delay(3, 1_000), Duration::seconds(120));
        assert_eq!(policy.delay(30, 1_000), Duration::hours(1));
        assert_eq!(policy.delay(3, 500), Duration::seconds(60));
        assert_eq!(policy.delay(3, 0), Duration::zero());
        let start = Utc::now();
        assert!(policy.next_attempt(5, start, start + Duration::hours(23), 1_000).is_some());
        assert_eq!(policy.next_attempt(5, start, start + Duration::hours(24), 1_000), None);
    }

    fn endpoint(livemode: bool, event_types: Vec<EventType>) -> EventEndpoint {
        EventEndpoint {
            id: EndpointId::from_uuid(uuid::Uuid::nil()),
            url: "https://platform.example/hooks".into(),
            event_types,
            livemode,
            active: true,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn an_event_s_mode_is_its_object_s_livemode_when_it_has_one() {
        assert_eq!(event_livemode(&json!({"id": "pay_1", "livemode": true})), Some(true));
        assert_eq!(event_livemode(&json!({"id": "po_1", "livemode": false})), Some(false));
        assert_eq!(event_livemode(&json!({"id": "cpn_1", "code": "TENOFF"})), None, "a coupon has no mode");
        assert_eq!(event_livemode(&json!({"livemode": null})), None);
        assert_eq!(event_livemode(&json!({"livemode": "true"})), None, "only a boolean names a mode");
    }

    #[test]
    fn an_endpoint_receives_events_of_its_mode_and_events_of_no_mode_only() {
        let (live, test) = (endpoint(true, Vec::new()), endpoint(false, Vec::new()));
        for (event, to_live, to_test) in [(Some(true), true, false), (Some(false), false, true), (None, true, true)] {
            assert_eq!(live.receives_mode(event), to_live, "{event:?} to a live endpoint");
            assert_eq!(test.receives_mode(event), to_test, "{event:?} to a test endpoint");
            assert_eq!(live.receives(EventType::PaymentCompleted, event), to_live);
            assert_eq!(test.receives(EventType::PaymentCompleted, event), to_test);
        }
        let subscribed = endpoint(false, vec![EventType::PaymentRefunded]);
        assert!(!subscribed.receives(EventType::PaymentCompleted, Some(false)), "a type it does not subscribe to");
        assert!(subscribed.receives(EventType::PaymentRefunded, Some(false)));
        let removed = EventEndpoint { active: false, ..endpoint(false, Vec::new()) };
        assert!(!removed.receives(EventType::PaymentCompleted, Some(false)), "a removed endpoint");
    }

    #[test]
    fn the_body_names_the_mode_of_an_event_that_has_one() {
        let body = |object: Value| -> Value {
            serde_json::from_slice(&event_body(EventId::from_uuid(uuid::Uuid::nil()), "x", Utc::now(), &object))
                .unwrap()
        };
        assert_eq!(body(json!({"livemode": false}))["livemode"], json!(false));
        assert!(body(json!({"code": "TENOFF"})).get("livemode").is_none());
    }

    #[test]
    fn subscriptions_name_known_types_or_all() {
        assert_eq!(parse_event_types(&["*".into()]).unwrap(), Vec::new());
        let types = parse_event_types(&["payment.completed".into(), "payment.completed".into()]).unwrap();
        assert_eq!(types, vec![EventType::PaymentCompleted]);
        assert!(matches!(parse_event_types(&["payment.done".into()]), Err(EndpointError::EventType(_))));
    }
}
