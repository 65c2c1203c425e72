//! The admin console's records on PostgreSQL: one-time sign-in links,
//! sessions (both found by the SHA-256 of their secret, never the secret),
//! the append-only audit log, and the read views of its detail pages.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};
use domain::attention::AttentionItem;
use domain::ids::{PaymentId, PayoutId, UserId};
use domain::money::Money;
use domain::paging::Page;
use domain::ports::StoreError;
use domain::usecases::{Actor, Role};
use uuid::Uuid;
use web_ports::console::{
    AuditEntry, ConsoleSession, ConsoleStore, JournalLine, PendingWork, TimelineEntry, WebhookLogLine, WebhookLogQuery,
    WebhookLogStatus,
};

use crate::errors::{corrupt, store_error};
use crate::keyset::keyset_page;
use crate::pool::PgStore;
use crate::rows::currency;
use crate::schema::{
    attention_items, console_audit_log as audit, console_sessions as sessions, console_sign_in_links as links,
    ledger_entries, ledger_journals, payment_disputes, payment_webhook_logs as webhook_logs, payouts, refunds,
};

fn actor(user_id: i64, role: &str) -> Result<Actor, StoreError> {
    let role = Role::parse(role).ok_or_else(|| corrupt("console role"))?;
    Ok(Actor::new(UserId::new(user_id), role))
}

type AuditRow = (i64, i64, String, String, String, Option<serde_json::Value>, Option<serde_json::Value>, DateTime<Utc>);

fn audit_entry(row: AuditRow) -> Result<(i64, AuditEntry), StoreError> {
    let (id, actor_id, role, action, object_id, before, after, at) = row;
    Ok((id, AuditEntry { actor: actor(actor_id, &role)?, action, object_id, before, after, at }))
}

#[derive(QueryableByName)]
struct TimelineRow {
    #[diesel(sql_type = Timestamptz)]
    at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    what: String,
    #[diesel(sql_type = Text)]
    detail: String,
}

/// The history both timelines read, given the CTEs `objects(oid)` (the
/// ids as the API shows them) and `subject(gateway_ref, since)`: the
/// objects' events with their delivery status, the gateway webhooks whose
/// payload names `gateway_ref` received since `since`, and console actions
/// on the objects.
macro_rules! timeline_of_objects {
    () => {
        "
SELECT o.created_at AS at, o.event_type AS what,
       coalesce((SELECT string_agg(d.status, ', ' ORDER BY d.status) FROM event_deliveries d WHERE d.event_id = o.id),
                'no endpoint') AS detail
  FROM outbox_events o WHERE o.aggregate_id IN (SELECT oid FROM objects)
UNION ALL
SELECT w.created_at, 'webhook ' || w.gateway || ' ' || w.event_type,
       CASE WHEN w.processed THEN 'processed' ELSE coalesce('failed: ' || w.processing_error, 'pending') END
  FROM payment_webhook_logs w, subject s
 WHERE s.gateway_ref IS NOT NULL AND w.object_refs @> ARRAY[s.gateway_ref] AND w.created_at >= s.since
UNION ALL
SELECT a.at, 'console ' || a.action, a.actor_role || ' ' || a.actor_id
  FROM console_audit_log a WHERE a.object_id IN (SELECT oid FROM objects)
ORDER BY 1, 2
LIMIT 500"
    };
}

/// A payment's history: it, its refunds and disputes; webhooks naming the
/// gateway's id for the payment, among those received since it was created.
const TIMELINE_SQL: &str = concat!(
    "
WITH p AS (SELECT id, provider_payment_id, created_at FROM payments WHERE id = $1),
     objects AS (
         SELECT 'pay_' || replace(id::text, '-', '') AS oid FROM p
         UNION ALL SELECT 're_' || replace(r.id::text, '-', '') FROM refunds r JOIN p ON r.payment_id = p.id
         UNION ALL SELECT 'dp_' || replace(d.id::text, '-', '') FROM payment_disputes d JOIN p ON d.payment_id = p.id),
     subject AS (SELECT provider_payment_id AS gateway_ref, created_at AS since FROM p)",
    timeline_of_objects!()
);

/// One refund's, payout's, dispute's or coupon's history (`$1` its id,
/// `$2` the gateway's id for it, if any, `$3` when it was created: the
/// gateway may tell of an object a moment before Skillpay records it (a
/// dashboard refund, a dispute), so webhooks from a day before count).
const OBJECT_TIMELINE_SQL: &str = concat!(
    "
WITH objects AS (SELECT $1::text AS oid),
     subject AS (SELECT $2::text AS gateway_ref, $3::timestamptz - interval '1 day' AS since)",
    timeline_of_objects!()
);

#[async_trait]
impl ConsoleStore for PgStore {
    async fn create_link(
        &self,
        token_hash: Vec<u8>,
        actor: Actor,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.run(move |conn| {
            diesel::insert_into(links::table)
                .values((
                    links::token_hash.eq(token_hash),
                    links::user_id.eq(actor.user_id.get()),
                    links::role.eq(actor.role.as_str()),
                    links::expires_at.eq(expires_at),
                ))
                .execute(conn)
                .map(|_| ())
                .map_err(store_error)
        })
        .await
    }

    async fn use_link(&self, token_hash: Vec<u8>, now: DateTime<Utc>) -> Result<Option<Actor>, StoreError> {
        self.run(move |conn| {
            // One guarded UPDATE: of two concurrent uses, one matches.
            let used: Option<(i64, String)> = diesel::update(
                links::table
                    .filter(links::token_hash.eq(token_hash))
                    .filter(links::used_at.is_null())
                    .filter(links::expires_at.gt(now)),
            )
            .set(links::used_at.eq(now))
            .returning((links::user_id, links::role))
            .get_result(conn)
            .optional()
            .map_err(store_error)?;
            used.map(|(user, role)| actor(user, &role)).transpose()
        })
        .await
    }

    async fn create_session(
        &self,
        token_hash: Vec<u8>,
        session: ConsoleSession,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.run(move |conn| {
            diesel::insert_into(sessions::table)
                .values((
                    sessions::token_hash.eq(token_hash),
                    sessions::user_id.eq(session.actor.user_id.get()),
                    sessions::role.eq(session.actor.role.as_str()),
                    sessions::csrf_token.eq(&session.csrf_token),
                    sessions::created_at.eq(now),
                    sessions::expires_at.eq(session.expires_at),
                    sessions::idle_secs.eq(session
                        .idle_timeout
                        .map(|idle| i32::try_from(idle.num_seconds()).unwrap_or(i32::MAX).max(1))),
                    sessions::last_seen_at.eq(now),
                ))
                .execute(conn)
                .map(|_| ())
                .map_err(store_error)
        })
        .await
    }

    async fn find_session(
        &self,
        token_hash: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        self.run(move |conn| {
            // Checked and marked used in one statement: a session idle past
            // its timeout is not revived by a request racing another.
            let row: Option<(i64, String, String, DateTime<Utc>, Option<i32>)> = diesel::update(
                sessions::table
                    .filter(sessions::token_hash.eq(token_hash))
                    .filter(sessions::ended_at.is_null())
                    .filter(sessions::expires_at.gt(now))
                    .filter(
                        sessions::idle_secs.is_null().or(diesel::dsl::sql::<diesel::sql_types::Bool>(
                            "last_seen_at + idle_secs * interval '1 second' > ",
                        )
                        .bind::<Timestamptz, _>(now)),
                    ),
            )
            .set(sessions::last_seen_at.eq(now))
            .returning((
                sessions::user_id,
                sessions::role,
                sessions::csrf_token,
                sessions::expires_at,
                sessions::idle_secs,
            ))
            .get_result(conn)
            .optional()
            .map_err(store_error)?;
            row.map(|(user, role, csrf_token, expires_at, idle_secs)| {
                let idle_timeout = idle_secs.map(|secs| chrono::Duration::seconds(i64::from(secs)));
                Ok(ConsoleSession { actor: actor(user, &role)?, csrf_token, expires_at, idle_timeout })
            })
            .transpose()
        })
        .await
    }

    async fn end_sessions_of(&self, user: UserId, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.run(move |conn| {
            diesel::update(
                sessions::table.filter(sessions::user_id.eq(user.get())).filter(sessions::ended_at.is_null()),
            )
            .set(sessions::ended_at.eq(now))
            .execute(conn)
            .map(|ended| ended as u64)
            .map_err(store_error)
        })
        .await
    }

    async fn end_session(&self, token_hash: Vec<u8>, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.run(move |conn| {
            diesel::update(sessions::table.filter(sessions::token_hash.eq(token_hash)))
                .set(sessions::ended_at.eq(now))
                .execute(conn)
                .map(|_| ())
                .map_err(store_error)
        })
        .await
    }

    async fn record(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.run(move |conn| {
            diesel::insert_into(audit::table)
                .values((
                    audit::actor_id.eq(entry.actor.user_id.get()),
                    audit::actor_role.eq(entry.actor.role.as_str()),
                    audit::action.eq(&entry.action),
                    audit::object_id.eq(&entry.object_id),
                    audit::before.eq(&entry.before),
                    audit::after.eq(&entry.after),
                    audit::at.eq(entry.at),
                ))
                .execute(conn)
                .map(|_| ())
                .map_err(store_error)
        })
        .await
    }

    async fn audit_log(
        &self,
        object_id: Option<String>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, AuditEntry)>, StoreError> {
        self.run(move |conn| {
            let mut query = audit::table
                .select((
                    audit::id,
                    audit::actor_id,
                    audit::actor_role,
                    audit::action,
                    audit::object_id,
                    audit::before,
                    audit::after,
                    audit::at,
                ))
                .order(audit::id.desc())
                .limit(i64::from(limit))
                .into_boxed();
            if let Some(object_id) = object_id {
                query = query.filter(audit::object_id.eq(object_id));
            }
            if let Some(before) = before {
                query = query.filter(audit::id.lt(before));
            }
            let rows: Vec<AuditRow> = query.load(conn).map_err(store_error)?;
            rows.into_iter().map(audit_entry).collect()
        })
        .await
    }

    async fn payment_journals(&self, payment: PaymentId) -> Result<Vec<JournalLine>, StoreError> {
        self.run(move |conn| journal_lines(conn, JournalsOf::Payment(payment))).await
    }

    async fn payment_timeline(&self, payment: PaymentId) -> Result<Vec<TimelineEntry>, StoreError> {
        self.run(move |conn| {
            let rows: Vec<TimelineRow> =
                diesel::sql_query(TIMELINE_SQL).bind::<SqlUuid, _>(payment.uuid()).load(conn).map_err(store_error)?;
            Ok(rows.into_iter().map(|r| TimelineEntry { at: r.at, what: r.what, detail: r.detail }).collect())
        })
        .await
    }

    async fn payout_journals(&self, payout: PayoutId) -> Result<Vec<JournalLine>, StoreError> {
        self.run(move |conn| journal_lines(conn, JournalsOf::Payout(payout))).await
    }

    async fn object_timeline(
        &self,
        object_id: String,
        gateway_ref: Option<String>,
        since: DateTime<Utc>,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        self.run(move |conn| {
            let rows: Vec<TimelineRow> = diesel::sql_query(OBJECT_TIMELINE_SQL)
                .bind::<Text, _>(object_id)
                .bind::<Nullable<Text>, _>(gateway_ref)
                .bind::<Timestamptz, _>(since)
                .load(conn)
                .map_err(store_error)?;
            Ok(rows.into_iter().map(|r| TimelineEntry { at: r.at, what: r.what, detail: r.detail }).collect())
        })
        .await
    }

    async fn pending_work(&self) -> Result<PendingWork, StoreError> {
        self.run(move |conn| {
            let count = |n: i64| u64::try_from(n).map_err(|_| corrupt("count"));
            let refunds: i64 =
                refunds::table.filter(refunds::status.eq("requested")).count().get_result(conn).map_err(store_error)?;
            let payouts: i64 = payouts::table
                .filter(payouts::status.eq_any(["requested", "approved"]))
                .count()
                .get_result(conn)
                .map_err(store_error)?;
            let disputes: i64 = payment_disputes::table
                .filter(payment_disputes::status.eq_any(["needs_response", "under_review", "warning_needs_response"]))
                .count()
                .get_result(conn)
                .map_err(store_error)?;
            let webhooks: i64 = webhook_logs::table
                .filter(webhook_logs::needs_attention.is_not_null())
                .count()
                .get_result(conn)
                .map_err(store_error)?;
            let attention: i64 = attention_items::table
                .filter(attention_items::resolved_at.is_null())
                .count()
                .get_result(conn)
                .map_err(store_error)?;
            Ok(PendingWork {
                refunds: count(refunds)?,
                payouts: count(payouts)?,
                disputes: count(disputes)?,
                webhooks: count(webhooks)?,
                attention: count(attention)?,
            })
        })
        .await
    }

    async fn webhook_logs(&self, query: WebhookLogQuery) -> Result<Page<WebhookLogLine>, StoreError> {
        self.run(move |conn| {
            type Row = (Uuid, String, String, String, bool, Option<String>, Option<String>, i32, DateTime<Utc>);
            let mut q = webhook_logs::table.into_boxed();
            if let Some(gateway) = &query.gateway {
                q = q.filter(webhook_logs::gateway.eq(gateway.clone()));
            }
            q = match query.status {
                None => q,
                Some(WebhookLogStatus::Processed) => q.filter(webhook_logs::processed.eq(true)),
                Some(WebhookLogStatus::Failed) => {
                    q.filter(webhook_logs::processed.eq(false)).filter(webhook_logs::processing_error.is_not_null())
                }
                Some(WebhookLogStatus::Pending) => {
                    q.filter(webhook_logs::processed.eq(false)).filter(webhook_logs::processing_error.is_null())
                }
                Some(WebhookLogStatus::NeedsAttention) => q.filter(webhook_logs::needs_attention.is_not_null()),
            };
            let rows: Vec<Row> = keyset_page!(q, webhook_logs, query.page)
                .limit(i64::from(query.page.limit) + 1)
                .select((
                    webhook_logs::id,
                    webhook_logs::gateway,
                    webhook_logs::event_id,
                    webhook_logs::event_type,
                    webhook_logs::processed,
                    webhook_logs::processing_error,
                    webhook_logs::needs_attention,
                    webhook_logs::attempts,
                    webhook_logs::created_at,
                ))
                .load(conn)
                .map_err(store_error)?;
            let lines = rows
                .into_iter()
                .map(|(id, gateway, event_id, event_type, processed, error, needs_attention, attempts, received_at)| {
                    Ok(WebhookLogLine {
                        id,
                        gateway,
                        event_id,
                        event_type,
                        processed,
                        error,
                        needs_attention,
                        attempts: u32::try_from(attempts).map_err(|_| corrupt("webhook attempts"))?,
                        received_at,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok(crate::payments::paginate(lines, query.page.limit, |w| (w.received_at, w.id)))
        })
        .await
    }

    async fn attention_items(&self, limit: u32) -> Result<Vec<AttentionItem>, StoreError> {
        self.run(move |conn| {
            type Row = (Uuid, String, Uuid, String, DateTime<Utc>, Option<DateTime<Utc>>, Option<i64>);
            let rows: Vec<Row> = attention_items::table
                .order((attention_items::resolved_at.is_not_null(), attention_items::created_at.desc()))
                .limit(i64::from(limit))
                .select((
                    attention_items::id,
                    attention_items::kind,
                    attention_items::payment_id,
                    attention_items::detail,
                    attention_items::created_at,
                    attention_items::resolved_at,
                    attention_items::resolved_by,
                ))
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter()
                .map(|(id, kind, payment, detail, created_at, resolved_at, resolved_by)| {
                    Ok(AttentionItem {
                        id,
                        kind: kind.parse().map_err(|_| corrupt("attention kind"))?,
                        payment_id: PaymentId::from_uuid(payment),
                        detail,
                        created_at,
                        resolved_at,
                        resolved_by: resolved_by.map(UserId::new),
                    })
                })
                .collect()
        })
        .await
    }

    async fn resolve_attention(&self, id: Uuid, by: Actor, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.run(move |conn| {
            diesel::update(attention_items::table.find(id).filter(attention_items::resolved_at.is_null()))
                .set((attention_items::resolved_at.eq(at), attention_items::resolved_by.eq(by.user_id.get())))
                .execute(conn)
                .map(|moved| moved > 0)
                .map_err(store_error)
        })
        .await
    }
}

/// Whose journals a detail page shows.
enum JournalsOf {
    Payment(PaymentId),
    Payout(PayoutId),
}

/// The ledger lines of the journals of `owner`, oldest first.
fn journal_lines(conn: &mut PgConnection, owner: JournalsOf) -> Result<Vec<JournalLine>, StoreError> {
    let query = ledger_entries::table.inner_join(ledger_journals::table).into_boxed();
    let query = match owner {
        JournalsOf::Payment(id) => query.filter(ledger_journals::payment_id.eq(id.uuid())),
        JournalsOf::Payout(id) => query.filter(ledger_journals::payout_id.eq(id.uuid())),
    };
    let rows: Vec<(String, String, String, i64, DateTime<Utc>)> = query
        .order((ledger_journals::posted_at.asc(), ledger_entries::id.asc()))
        .select((
            ledger_journals::kind,
            ledger_entries::account,
            ledger_entries::currency,
            ledger_entries::amount_minor,
            ledger_journals::posted_at,
        ))
        .load(conn)
        .map_err(store_error)?;
    rows.into_iter()
        .map(|(kind, account, code, minor, posted_at)| {
            Ok(JournalLine { kind, account, amount: Money::from_minor(minor, currency(&code)?), posted_at })
        })
        .collect()
}
