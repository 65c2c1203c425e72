//! Event seats (migration `000039_holdings_and_seats`, docs/payments.md#event-seats).
//!
//! An event's free seats are spread over up to [`SHARDS`] rows of
//! `event_seats`, so purchases of an event that is not near full each take
//! a row no one else holds at that moment and do not queue on one counter.
//! A purchase first takes its seats from one row with enough free, skipping
//! rows other purchases hold; only when none is free for it (the event is
//! near full, or its rows are busy) does it lock every row of the event, in
//! order, and take from several: so "sold out" is only ever answered after
//! reading every row under lock, and a seat is never sold twice (each row's
//! `free >= 0` is also a CHECK). What a payment took is written in
//! `seat_holds`, row by row, and given back to the same rows when the
//! payment ends.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, SmallInt, Uuid as SqlUuid};
use domain::ids::{PaymentId, UserId};
use uuid::Uuid;

use crate::prepared::PreparedExt;

/// The statuses in which a payment holds its item and its seats (as
/// `PaymentStatus::holds_item` says, and the predicate of the index
/// `payments_one_per_buyer_idx`).
pub(crate) const HOLDING: [&str; 6] =
    ["pending", "processing", "completed", "partially_refunded", "disputed", "in_review"];

/// Rows an event's seats are spread over (fewer for fewer seats).
pub(crate) const SHARDS: u32 = 8;

#[derive(QueryableByName)]
struct Shard {
    #[diesel(sql_type = SmallInt)]
    shard: i16,
}

#[derive(QueryableByName)]
struct ShardFree {
    #[diesel(sql_type = SmallInt)]
    shard: i16,
    #[diesel(sql_type = Integer)]
    free: i32,
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    total: Option<i64>,
}

/// Takes `seats` from one row with enough free, starting at the payment's
/// own row and skipping rows other transactions hold.
const TAKE_FROM_ONE: &str = "\
WITH pick AS (
    SELECT shard FROM event_seats
     WHERE event_id = $1 AND free >= $2
     ORDER BY (shard + $3) % 64
     LIMIT 1
       FOR UPDATE SKIP LOCKED
)
UPDATE event_seats s SET free = s.free - $2 FROM pick
 WHERE s.event_id = $1 AND s.shard = pick.shard
RETURNING s.shard";

const LOCK_ALL: &str = "SELECT shard, free FROM event_seats WHERE event_id = $1 ORDER BY shard FOR UPDATE";

const HOLD: &str = "INSERT INTO seat_holds (payment_id, event_id, shard, seats) VALUES ($1, $2, $3, $4)";

const TAKE: &str = "UPDATE event_seats SET free = free - $3 WHERE event_id = $1 AND shard = $2";

/// Takes `quantity` seats of `event` for `payment`; false when fewer are
/// left (nothing taken). Runs in the payment's transaction, after its row
/// is written.
pub(crate) fn take(conn: &mut PgConnection, event: i64, payment: PaymentId, quantity: u32) -> QueryResult<bool> {
    let seats = i32::try_from(quantity).unwrap_or(i32::MAX);
    // The payment's own starting row: spreads concurrent buyers.
    let start = i32::from(payment.uuid().as_bytes()[15] % 64);
    let taken: Vec<Shard> = diesel::sql_query(TAKE_FROM_ONE)
        .bind::<BigInt, _>(event)
        .bind::<Integer, _>(seats)
        .bind::<Integer, _>(start)
        .prepared()
        .load(conn)?;
    if let Some(row) = taken.first() {
        hold(conn, payment, event, row.shard, seats)?;
        return Ok(true);
    }
    let rows: Vec<ShardFree> = diesel::sql_query(LOCK_ALL).bind::<BigInt, _>(event).prepared().load(conn)?;
    if rows.iter().map(|r| i64::from(r.free)).sum::<i64>() < i64::from(seats) {
        return Ok(false);
    }
    let mut wanted = seats;
    for row in rows.iter().filter(|r| r.free > 0) {
        let part = wanted.min(row.free);
        diesel::sql_query(TAKE)
            .bind::<BigInt, _>(event)
            .bind::<SmallInt, _>(row.shard)
            .bind::<Integer, _>(part)
            .prepared()
            .execute(conn)?;
        hold(conn, payment, event, row.shard, part)?;
        wanted -= part;
        if wanted == 0 {
            break;
        }
    }
    Ok(true)
}

fn hold(conn: &mut PgConnection, payment: PaymentId, event: i64, shard: i16, seats: i32) -> QueryResult<()> {
    diesel::sql_query(HOLD)
        .bind::<SqlUuid, _>(payment.uuid())
        .bind::<BigInt, _>(event)
        .bind::<SmallInt, _>(shard)
        .bind::<Integer, _>(seats)
        .prepared()
        .execute(conn)
        .map(|_| ())
}

/// Gives a payment's seats back to the rows they came from; nothing when it
/// holds none (or gave them back already).
const RELEASE: &str = "\
WITH released AS (
    DELETE FROM seat_holds WHERE payment_id = $1 RETURNING event_id, shard, seats
)
UPDATE event_seats s SET free = s.free + r.seats FROM released r
 WHERE s.event_id = r.event_id AND s.shard = r.shard";

/// Gives the seats of `payment` back, in the transaction that ends it.
pub(crate) fn release(conn: &mut PgConnection, payment: Uuid) -> QueryResult<()> {
    diesel::sql_query(RELEASE).bind::<SqlUuid, _>(payment).prepared().execute(conn).map(|_| ())
}

/// The seats left of an event with seat rows.
pub(crate) fn left(conn: &mut PgConnection, event: i64) -> QueryResult<Option<u32>> {
    let total: Vec<Total> = diesel::sql_query("SELECT sum(free)::bigint AS total FROM event_seats WHERE event_id = $1")
        .bind::<BigInt, _>(event)
        .load(conn)?;
    Ok(total.first().and_then(|t| t.total).map(|t| u32::try_from(t).unwrap_or(0)))
}

/// Why a capacity cannot be set: the seats taken now.
pub(crate) struct Taken(pub u32);

/// Sets an event's capacity in the transaction that stores it. A first
/// capacity counts the tickets of the event's open and paid payments as
/// taken (and holds them, so they come back when those payments end); a
/// changed one adds or removes free seats under every row's lock; none
/// removes the rows (and the holds: no limit to keep).
pub(crate) fn set_capacity(
    conn: &mut PgConnection,
    event: i64,
    capacity: Option<u32>,
) -> QueryResult<Result<(), Taken>> {
    let rows: Vec<ShardFree> = diesel::sql_query(LOCK_ALL).bind::<BigInt, _>(event).load(conn)?;
    let Some(capacity) = capacity else {
        diesel::sql_query("DELETE FROM seat_holds WHERE event_id = $1").bind::<BigInt, _>(event).execute(conn)?;
        diesel::sql_query("DELETE FROM event_seats WHERE event_id = $1").bind::<BigInt, _>(event).execute(conn)?;
        return Ok(Ok(()));
    };
    if rows.is_empty() {
        // A purchase committing while this runs is not counted (it took
        // no seat: there were none): set a capacity before sales open.
        diesel::sql_query(HOLD_EXISTING)
            .bind::<BigInt, _>(event)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&HOLDING[..])
            .execute(conn)?;
    }
    let taken: Vec<Total> = diesel::sql_query("SELECT sum(seats)::bigint AS total FROM seat_holds WHERE event_id = $1")
        .bind::<BigInt, _>(event)
        .load(conn)?;
    let taken = u32::try_from(taken.first().and_then(|t| t.total).unwrap_or(0)).unwrap_or(u32::MAX);
    if taken > capacity {
        return Ok(Err(Taken(taken)));
    }
    // Spread the free seats evenly again over the rows.
    let free = capacity - taken;
    let shards = SHARDS.min(capacity.max(1));
    diesel::sql_query("DELETE FROM event_seats WHERE event_id = $1").bind::<BigInt, _>(event).execute(conn)?;
    for shard in 0..shards {
        let part = free / shards + u32::from(shard < free % shards);
        diesel::sql_query("INSERT INTO event_seats (event_id, shard, free) VALUES ($1, $2, $3)")
            .bind::<BigInt, _>(event)
            .bind::<SmallInt, _>(i16::try_from(shard).unwrap_or(0))
            .bind::<Integer, _>(i32::try_from(part).unwrap_or(i32::MAX))
            .execute(conn)?;
    }
    Ok(Ok(()))
}

/// The tickets of an event's open and paid payments, held on row 0 when
/// the event gets its first capacity.
const HOLD_EXISTING: &str = "\
INSERT INTO seat_holds (payment_id, event_id, shard, seats)
SELECT id, event_id, 0, quantity FROM payments
 WHERE event_id = $1 AND status = ANY($2)
ON CONFLICT DO NOTHING";

/// The tickets `user` holds for `event` in open and paid payments of the
/// mode, counted under a lock of this buyer and event (so two purchases by
/// one buyer cannot both pass the limit).
pub(crate) fn tickets_held(conn: &mut PgConnection, user: UserId, event: i64, livemode: bool) -> QueryResult<u32> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('tickets:' || $1::text || ':' || $2::text, 0))")
        .bind::<BigInt, _>(user.get())
        .bind::<BigInt, _>(event)
        .execute(conn)?;
    let held: Vec<Total> = diesel::sql_query(
        "SELECT sum(quantity)::bigint AS total FROM payments \
          WHERE user_id = $1 AND event_id = $2 AND livemode = $3 AND status = ANY($4)",
    )
    .bind::<BigInt, _>(user.get())
    .bind::<BigInt, _>(event)
    .bind::<diesel::sql_types::Bool, _>(livemode)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&HOLDING[..])
    .load(conn)?;
    Ok(u32::try_from(held.first().and_then(|t| t.total).unwrap_or(0)).unwrap_or(u32::MAX))
}
