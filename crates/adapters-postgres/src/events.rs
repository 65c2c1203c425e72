//! Event delivery on PostgreSQL: endpoints (secrets sealed with the store's
//! keyring), routing of outbox events to the deliveries of their mode,
//! leased claims with `FOR UPDATE SKIP LOCKED`, and attempts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use domain::events::{Delivery, DeliveryAttempt, DeliveryStatus, EventEndpoint, event_body};
use domain::ids::{DeliveryId, EndpointId, EventId};
use domain::outbox::EventType;
use domain::paging::Page;
use domain::ports::{
    AttemptOutcome, ClaimedDelivery, CreateEndpointError, DeliveryQuery, EventDeliveryStore, ReplayError, StoreError,
};
use domain::usecases::Actor;
use uuid::Uuid;

use crate::audit::decided_by;
use crate::errors::{corrupt, store_error};
use crate::keyset::keyset_page;
use crate::payments::paginate;
use crate::pool::PgStore;
use crate::schema::{event_deliveries, event_delivery_attempts, event_endpoints};

/// Where a sealed secret lives: part of every seal's associated data.
pub(crate) fn context(row: Uuid) -> String {
    format!("event_endpoints/secret_sealed/{row}")
}

type EndpointRow = (Uuid, String, Vec<Option<String>>, bool, bool, DateTime<Utc>);

/// The columns of an [`EndpointRow`].
type EndpointColumns = (
    event_endpoints::id,
    event_endpoints::url,
    event_endpoints::event_types,
    event_endpoints::livemode,
    event_endpoints::active,
    event_endpoints::created_at,
);

const ENDPOINT_COLUMNS: EndpointColumns = (
    event_endpoints::id,
    event_endpoints::url,
    event_endpoints::event_types,
    event_endpoints::livemode,
    event_endpoints::active,
    event_endpoints::created_at,
);

fn endpoint((id, url, types, livemode, active, created_at): EndpointRow) -> Result<EventEndpoint, StoreError> {
    let event_types = types
        .into_iter()
        .flatten()
        .map(|name| EventType::parse(&name).ok_or_else(|| corrupt("event type")))
        .collect::<Result<_, _>>()?;
    Ok(EventEndpoint { id: EndpointId::from_uuid(id), url, event_types, livemode, active, created_at })
}

#[derive(Queryable, Selectable, QueryableByName)]
#[diesel(table_name = event_deliveries, check_for_backend(diesel::pg::Pg))]
struct DeliveryRow {
    id: Uuid,
    event_id: Uuid,
    endpoint_id: Uuid,
    event_type: String,
    aggregate_id: String,
    status: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    first_attempt_at: Option<DateTime<Utc>>,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

impl DeliveryRow {
    fn into_domain(self) -> Result<Delivery, StoreError> {
        Ok(Delivery {
            id: DeliveryId::from_uuid(self.id),
            event_id: EventId::from_uuid(self.event_id),
            event_type: self.event_type,
            aggregate_id: self.aggregate_id,
            endpoint_id: EndpointId::from_uuid(self.endpoint_id),
            status: DeliveryStatus::parse(&self.status).ok_or_else(|| corrupt("delivery status"))?,
            attempts: u32::try_from(self.attempts).map_err(|_| corrupt("attempts"))?,
            next_attempt_at: self.next_attempt_at,
            last_status: self.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: self.last_error,
            created_at: self.created_at,
            delivered_at: self.delivered_at,
        })
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// An outbox event's mode, as `domain::events::event_livemode` reads it:
/// its object's `livemode` when that is a boolean, else NULL (no mode).
macro_rules! event_livemode_sql {
    ($payload:literal) => {
        concat!(
            "CASE WHEN jsonb_typeof(",
            $payload,
            " -> 'livemode') = 'boolean' THEN (",
            $payload,
            " ->> 'livemode')::boolean END"
        )
    };
}

/// Routes unrouted outbox events (oldest first, skipping rows another
/// router holds) to the endpoints that receive them, as
/// `EventEndpoint::receives` says: active, subscribed to the type, and of
/// the event's mode (an event of no mode goes to endpoints of both). One
/// statement for the whole batch, the mode filter included: every sale's
/// events pass through it, so no round trip per event or endpoint.
const ROUTE_SQL: &str = concat!(
    "\
WITH picked AS (
    SELECT id, event_type, aggregate_id, created_at, ",
    event_livemode_sql!("payload"),
    " AS livemode FROM outbox_events
    WHERE routed_at IS NULL ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
), marked AS (
    UPDATE outbox_events o SET routed_at = $1 FROM picked WHERE o.id = picked.id RETURNING o.id
), routed AS (
    INSERT INTO event_deliveries (id, event_id, endpoint_id, event_type, aggregate_id, event_created_at, status,
                                  next_attempt_at, created_at)
    SELECT gen_random_uuid(), p.id, e.id, p.event_type, p.aggregate_id, p.created_at, 'pending', $1, $1
    FROM picked p JOIN event_endpoints e
      ON e.active AND (cardinality(e.event_types) = 0 OR p.event_type = ANY (e.event_types))
     AND (p.livemode IS NULL OR p.livemode = e.livemode)
    ON CONFLICT (event_id, endpoint_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) AS n FROM marked"
);

/// Queues to one active endpoint (`$1`) the events created in `[$2, $3)`
/// it receives, as routing decides, that it has no delivery of yet; due
/// at `$4`. Answers how many.
const BACKFILL_SQL: &str = concat!(
    "\
WITH queued AS (
    INSERT INTO event_deliveries (id, event_id, endpoint_id, event_type, aggregate_id, event_created_at, status,
                                  next_attempt_at, created_at)
    SELECT gen_random_uuid(), o.id, e.id, o.event_type, o.aggregate_id, o.created_at, 'pending', $4, $4
    FROM outbox_events o JOIN event_endpoints e
      ON e.id = $1 AND e.active AND (cardinality(e.event_types) = 0 OR o.event_type = ANY (e.event_types))
     AND coalesce(",
    event_livemode_sql!("o.payload"),
    " = e.livemode, true)
    WHERE o.created_at >= $2 AND o.created_at < $3
    ON CONFLICT (event_id, endpoint_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) AS n FROM queued"
);

/// Why the deliveries still pending to a removed endpoint were given up.
const ENDPOINT_REMOVED: &str = "the endpoint was removed";

/// Makes a delivery pending and due again (with a fresh day of retries)
/// if its event is of its endpoint's mode, or of none.
const REPLAY_SQL: &str = concat!(
    "\
UPDATE event_deliveries d
SET status = 'pending', next_attempt_at = $2, locked_until = NULL, first_attempt_at = NULL
FROM event_endpoints e, outbox_events o
WHERE d.id = $1 AND e.id = d.endpoint_id AND o.id = d.event_id AND e.active
  AND coalesce(",
    event_livemode_sql!("o.payload"),
    " = e.livemode, true)
RETURNING d.id, d.event_id, d.endpoint_id, d.event_type, d.aggregate_id, d.status, d.attempts, d.next_attempt_at,
          d.first_attempt_at, d.last_status, d.last_error, d.created_at, d.delivered_at"
);

/// Leases due deliveries whose earlier events about the same object (to
/// the same endpoint) are settled, skipping rows another worker holds, and
/// answers each with its endpoint and event in the same statement.
const CLAIM_SQL: &str = "\
WITH due AS (
    SELECT d.id FROM event_deliveries d
    WHERE d.status = 'pending' AND d.next_attempt_at <= $1
      AND (d.locked_until IS NULL OR d.locked_until < $1)
      AND EXISTS (SELECT 1 FROM event_endpoints a WHERE a.id = d.endpoint_id AND a.active)
      AND NOT EXISTS (
          SELECT 1 FROM event_deliveries e
          WHERE e.endpoint_id = d.endpoint_id AND e.aggregate_id = d.aggregate_id AND e.status = 'pending'
            AND (e.event_created_at, e.event_id) < (d.event_created_at, d.event_id))
    ORDER BY d.next_attempt_at LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE event_deliveries d SET locked_until = $2, first_attempt_at = coalesce(d.first_attempt_at, $1)
FROM due, event_endpoints p, outbox_events o
WHERE d.id = due.id AND p.id = d.endpoint_id AND o.id = d.event_id
RETURNING d.id, d.event_id, d.endpoint_id, d.event_type, d.aggregate_id, d.status, d.attempts, d.next_attempt_at,
          d.first_attempt_at, d.last_status, d.last_error, d.created_at, d.delivered_at,
          p.url, p.secret_sealed, p.secret_key_id, o.payload, o.created_at AS event_time";

/// A claimed delivery with what sending it needs.
#[derive(QueryableByName)]
struct ClaimRow {
    #[diesel(embed)]
    delivery: DeliveryRow,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    secret_sealed: Vec<u8>,
    #[diesel(sql_type = Text)]
    secret_key_id: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    payload: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    event_time: DateTime<Utc>,
}

#[async_trait]
impl EventDeliveryStore for PgStore {
    async fn create_endpoint(
        &self,
        endpoint: EventEndpoint,
        secret: String,
        by: Actor,
    ) -> Result<EventEndpoint, CreateEndpointError> {
        let keyring = self.keyring().ok_or(CreateEndpointError::NoEncryptionKey)?;
        let (key_id, sealed) = keyring
            .seal(secret.as_bytes(), &context(endpoint.id.uuid()))
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let types: Vec<String> = endpoint.event_types.iter().map(|t| t.as_str().to_owned()).collect();
        self.run(move |conn| {
            conn.transaction::<_, DieselError, _>(|conn| {
                decided_by(conn, Some(by))?;
                diesel::insert_into(event_endpoints::table)
                    .values((
                        event_endpoints::id.eq(endpoint.id.uuid()),
                        event_endpoints::url.eq(&endpoint.url),
                        event_endpoints::event_types.eq(types.iter().map(|t| Some(t.clone())).collect::<Vec<_>>()),
                        event_endpoints::secret_sealed.eq(&sealed),
                        event_endpoints::secret_key_id.eq(&key_id),
                        event_endpoints::livemode.eq(endpoint.livemode),
                        event_endpoints::active.eq(true),
                        event_endpoints::created_at.eq(endpoint.created_at),
                    ))
                    .execute(conn)
            })
            .map_err(store_error)?;
            Ok(endpoint)
        })
        .await
        .map_err(CreateEndpointError::Store)
    }

    async fn endpoints(&self) -> Result<Vec<EventEndpoint>, StoreError> {
        self.run(|conn| {
            let rows: Vec<EndpointRow> = event_endpoints::table
                .select(ENDPOINT_COLUMNS)
                .order((event_endpoints::created_at.desc(), event_endpoints::id.desc()))
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter().map(endpoint).collect()
        })
        .await
    }

    async fn deactivate_endpoint(&self, id: EndpointId, by: Actor) -> Result<Option<EventEndpoint>, StoreError> {
        self.run(move |conn| {
            let row: Option<EndpointRow> = conn
                .transaction::<_, DieselError, _>(|conn| {
                    decided_by(conn, Some(by))?;
                    // What was still to be sent to it never will be.
                    diesel::update(
                        event_deliveries::table
                            .filter(event_deliveries::endpoint_id.eq(id.uuid()))
                            .filter(event_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
                    )
                    .set((
                        event_deliveries::status.eq(DeliveryStatus::Dead.as_str()),
                        event_deliveries::last_error.eq(ENDPOINT_REMOVED),
                        event_deliveries::locked_until.eq(None::<DateTime<Utc>>),
                    ))
                    .execute(conn)?;
                    diesel::update(event_endpoints::table.find(id.uuid()))
                        .set(event_endpoints::active.eq(false))
                        .returning(ENDPOINT_COLUMNS)
                        .get_result(conn)
                        .optional()
                })
                .map_err(store_error)?;
            row.map(endpoint).transpose()
        })
        .await
    }

    async fn route(&self, now: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        self.run(move |conn| {
            let routed: Count = diesel::sql_query(ROUTE_SQL)
                .bind::<Timestamptz, _>(now)
                .bind::<BigInt, _>(i64::from(limit))
                .get_result(conn)
                .map_err(store_error)?;
            u64::try_from(routed.n).map_err(|_| corrupt("count"))
        })
        .await
    }

    async fn backfill(
        &self,
        endpoint: EndpointId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        self.run(move |conn| {
            let active: bool = event_endpoints::table
                .find(endpoint.uuid())
                .select(event_endpoints::active)
                .first(conn)
                .optional()
                .map_err(store_error)?
                .unwrap_or(false);
            if !active {
                return Ok(None);
            }
            let queued: Count = diesel::sql_query(BACKFILL_SQL)
                .bind::<SqlUuid, _>(endpoint.uuid())
                .bind::<Timestamptz, _>(from)
                .bind::<Timestamptz, _>(to)
                .bind::<Timestamptz, _>(now)
                .get_result(conn)
                .map_err(store_error)?;
            u64::try_from(queued.n).map(Some).map_err(|_| corrupt("count"))
        })
        .await
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let keyring = self.keyring();
        self.run(move |conn| {
            let rows: Vec<ClaimRow> = diesel::sql_query(CLAIM_SQL)
                .bind::<Timestamptz, _>(now)
                .bind::<Timestamptz, _>(lease_until)
                .bind::<BigInt, _>(i64::from(limit))
                .load(conn)
                .map_err(store_error)?;
            let mut claimed = Vec::with_capacity(rows.len());
            for row in rows {
                let keyring =
                    keyring.as_ref().ok_or_else(|| corrupt("sealed endpoint secret but no encryption key"))?;
                let secret = keyring
                    .open(&row.secret_key_id, &row.secret_sealed, &context(row.delivery.endpoint_id))
                    .map_err(|e| corrupt(&e.to_string()))?;
                let secret = String::from_utf8(secret).map_err(|_| corrupt("endpoint secret"))?;
                let delivery = row.delivery;
                let event = EventId::from_uuid(delivery.event_id);
                let body = event_body(event, &delivery.event_type, row.event_time, &row.payload);
                let first_attempt_at = delivery.first_attempt_at.unwrap_or(now);
                claimed.push(ClaimedDelivery {
                    delivery: delivery.into_domain()?,
                    lease_until,
                    url: row.url,
                    secret,
                    body,
                    first_attempt_at,
                });
            }
            Ok(claimed)
        })
        .await
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        lease_until: DateTime<Utc>,
        attempt: DeliveryAttempt,
        outcome: AttemptOutcome,
    ) -> Result<bool, StoreError> {
        let (status, next_attempt_at, delivered_at) = match outcome {
            AttemptOutcome::Delivered => (DeliveryStatus::Delivered, attempt.at, Some(attempt.at)),
            AttemptOutcome::RetryAt(at) => (DeliveryStatus::Pending, at, None),
            AttemptOutcome::Dead => (DeliveryStatus::Dead, attempt.at, None),
        };
        self.run(move |conn| {
            conn.transaction::<bool, diesel::result::Error, _>(|conn| {
                let moved = diesel::sql_query(
                    "UPDATE event_deliveries SET attempts = attempts + 1, locked_until = NULL, status = $3, \
                         next_attempt_at = $4, delivered_at = $5, last_status = $6, last_error = $7 \
                     WHERE id = $1 AND locked_until = $2 AND status = 'pending'",
                )
                .bind::<SqlUuid, _>(id.uuid())
                .bind::<Timestamptz, _>(lease_until)
                .bind::<Text, _>(status.as_str())
                .bind::<Timestamptz, _>(next_attempt_at)
                .bind::<Nullable<Timestamptz>, _>(delivered_at)
                .bind::<Nullable<Integer>, _>(attempt.response_status.map(i32::from))
                .bind::<Nullable<Text>, _>(attempt.error.clone())
                .execute(conn)?;
                if moved == 0 {
                    return Ok(false);
                }
                diesel::insert_into(event_delivery_attempts::table)
                    .values((
                        event_delivery_attempts::delivery_id.eq(id.uuid()),
                        event_delivery_attempts::attempted_at.eq(attempt.at),
                        event_delivery_attempts::response_status.eq(attempt.response_status.map(i32::from)),
                        event_delivery_attempts::error.eq(&attempt.error),
                        event_delivery_attempts::duration_ms.eq(attempt.duration_ms),
                    ))
                    .execute(conn)?;
                Ok(true)
            })
            .map_err(store_error)
        })
        .await
    }

    async fn deliveries(&self, query: DeliveryQuery) -> Result<Page<Delivery>, StoreError> {
        self.run(move |conn| {
            let mut q = event_deliveries::table.select(DeliveryRow::as_select()).into_boxed();
            if let Some(status) = query.status {
                q = q.filter(event_deliveries::status.eq(status.as_str()));
            }
            if let Some(endpoint) = query.endpoint {
                q = q.filter(event_deliveries::endpoint_id.eq(endpoint.uuid()));
            }
            if let Some(event) = query.event {
                q = q.filter(event_deliveries::event_id.eq(event.uuid()));
            }
            let rows: Vec<DeliveryRow> = keyset_page!(q, event_deliveries, query.page)
                .limit(i64::from(query.page.limit) + 1)
                .load(conn)
                .map_err(store_error)?;
            let items = rows.into_iter().map(DeliveryRow::into_domain).collect::<Result<Vec<_>, _>>()?;
            Ok(paginate(items, query.page.limit, |d| (d.created_at, d.id.uuid())))
        })
        .await
    }

    async fn delivery(&self, id: DeliveryId) -> Result<Option<(Delivery, Vec<DeliveryAttempt>)>, StoreError> {
        self.run(move |conn| {
            let row: Option<DeliveryRow> = event_deliveries::table
                .find(id.uuid())
                .select(DeliveryRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?;
            let Some(row) = row else { return Ok(None) };
            let attempts: Vec<(DateTime<Utc>, Option<i32>, Option<String>, i64)> = event_delivery_attempts::table
                .filter(event_delivery_attempts::delivery_id.eq(id.uuid()))
                .order(event_delivery_attempts::id)
                .select((
                    event_delivery_attempts::attempted_at,
                    event_delivery_attempts::response_status,
                    event_delivery_attempts::error,
                    event_delivery_attempts::duration_ms,
                ))
                .load(conn)
                .map_err(store_error)?;
            let attempts = attempts
                .into_iter()
                .map(|(at, status, error, duration_ms)| DeliveryAttempt {
                    at,
                    response_status: status.and_then(|s| u16::try_from(s).ok()),
                    error,
                    duration_ms,
                })
                .collect();
            Ok(Some((row.into_domain()?, attempts)))
        })
        .await
    }

    async fn replay(&self, id: DeliveryId, now: DateTime<Utc>) -> Result<Option<Delivery>, ReplayError> {
        self.run(move |conn| {
            let row: Option<DeliveryRow> = diesel::sql_query(REPLAY_SQL)
                .bind::<SqlUuid, _>(id.uuid())
                .bind::<Timestamptz, _>(now)
                .get_result(conn)
                .optional()
                .map_err(store_error)?;
            if let Some(row) = row {
                return Ok(Ok(Some(row.into_domain()?)));
            }
            // Nothing changed: an unknown delivery, one to a removed
            // endpoint, or one of the other mode (modes never change, so
            // this answer cannot be stale).
            let active: Option<bool> = event_deliveries::table
                .inner_join(event_endpoints::table)
                .filter(event_deliveries::id.eq(id.uuid()))
                .select(event_endpoints::active)
                .first(conn)
                .optional()
                .map_err(store_error)?;
            Ok(match active {
                None => Ok(None),
                Some(false) => Err(ReplayError::EndpointRemoved),
                Some(true) => Err(ReplayError::OtherMode),
            })
        })
        .await?
    }
}
