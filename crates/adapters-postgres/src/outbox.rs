//! Outbox rows, written inside the transaction of the change they announce.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::outbox::OutboxEvent;
use domain::ports::StoreError;
use uuid::Uuid;

use crate::errors::store_error;
use crate::pool::PgStore;
use crate::prepared::PreparedExt;
use crate::schema::outbox_events;

/// Writes `events`, each with its object in the API's JSON form, so that a
/// delivered event's `data.object` is what a read of the object answers.
pub(crate) fn insert_events(conn: &mut PgConnection, events: &[OutboxEvent]) -> QueryResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let rows = events
        .iter()
        .map(|e| {
            let payload = representations::event_object(&e.subject)
                .map_err(|error| diesel::result::Error::SerializationError(Box::new(error)))?;
            Ok((
                outbox_events::id.eq(e.id.uuid()),
                outbox_events::event_type.eq(e.event_type.as_str()),
                outbox_events::aggregate_id.eq(e.aggregate_id()),
                outbox_events::payload.eq(payload),
                outbox_events::created_at.eq(e.created_at),
            ))
        })
        .collect::<QueryResult<Vec<_>>>()?;
    diesel::insert_into(outbox_events::table)
        .values(rows)
        .returning(outbox_events::id)
        .prepared()
        .get_results::<Uuid>(conn)
        .map(|ids| ids.len())
}

/// An outbox row as stored.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct StoredOutboxEvent {
    /// Event id.
    pub id: Uuid,
    /// Wire name of the event type.
    pub event_type: String,
    /// Object the event is about.
    pub aggregate_id: String,
    /// The object.
    pub payload: serde_json::Value,
    /// When it happened.
    pub created_at: DateTime<Utc>,
    /// When it was delivered, if it was.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl PgStore {
    /// Every event, oldest first (tests and examples).
    pub async fn outbox_events(&self) -> Result<Vec<StoredOutboxEvent>, StoreError> {
        self.run(move |conn| stored_events(conn, None)).await
    }

    /// The events about one object, oldest first.
    pub async fn outbox_events_for(&self, aggregate_id: String) -> Result<Vec<StoredOutboxEvent>, StoreError> {
        self.run(move |conn| stored_events(conn, Some(aggregate_id))).await
    }
}

/// The stored events (about one object, when named), oldest first.
fn stored_events(conn: &mut PgConnection, about: Option<String>) -> Result<Vec<StoredOutboxEvent>, StoreError> {
    let mut query = outbox_events::table
        .order((outbox_events::created_at.asc(), outbox_events::id.asc()))
        .select((
            outbox_events::id,
            outbox_events::event_type,
            outbox_events::aggregate_id,
            outbox_events::payload,
            outbox_events::created_at,
            outbox_events::delivered_at,
        ))
        .into_boxed();
    if let Some(aggregate_id) = about {
        query = query.filter(outbox_events::aggregate_id.eq(aggregate_id));
    }
    query.load(conn).map_err(store_error)
}
