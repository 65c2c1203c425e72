//! E-mail messages and contact records (migration `000037_mail`):
//! messages are routed from outbox events in one statement, claimed with a
//! lease, and their outcomes recorded while it holds.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Text, Timestamptz};
use domain::ids::{EventId, MailId, UserId};
use domain::mail::{Contact, MailMessage, MailStatus, MessageRule};
use domain::outbox::EventType;
use domain::paging::Page;
use domain::ports::{ClaimedMail, MailOutcome, MailQuery, MailStore, StoreError};
use uuid::Uuid;

use crate::errors::{corrupt, store_error};
use crate::keyset::keyset_page;
use crate::payments::paginate;
use crate::pool::PgStore;
use crate::schema::{contacts, mail_messages};

/// Marks up to `$2` unrouted events routed at `$1` and makes, for each, a
/// pending message per rule of its type (`$3` types, `$4` templates, `$5`
/// audiences). Answers how many events were routed.
const ROUTE_SQL: &str = "\
WITH picked AS (
    SELECT id, event_type FROM outbox_events
    WHERE mail_routed_at IS NULL ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
), marked AS (
    UPDATE outbox_events o SET mail_routed_at = $1 FROM picked WHERE o.id = picked.id RETURNING o.id
), made AS (
    INSERT INTO mail_messages (id, event_id, template, audience, status, next_attempt_at, created_at)
    SELECT gen_random_uuid(), p.id, r.template, r.audience, 'pending', $1, $1
    FROM picked p JOIN unnest($3::text[], $4::text[], $5::text[]) AS r(event_type, template, audience)
      ON r.event_type = p.event_type
    ON CONFLICT (event_id, template) DO NOTHING
    RETURNING 1
)
SELECT count(*) AS n FROM marked";

/// Leases up to `$3` due messages until `$2`, skipping those another
/// worker holds, with their events' type and object.
const CLAIM_SQL: &str = "\
WITH due AS (
    SELECT id FROM mail_messages
    WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1)
    ORDER BY next_attempt_at LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE mail_messages m SET locked_until = $2, first_attempt_at = coalesce(m.first_attempt_at, $1)
FROM due, outbox_events o
WHERE m.id = due.id AND o.id = m.event_id
RETURNING m.id, m.event_id, m.template, m.audience, m.status, m.attempts, m.next_attempt_at, m.first_attempt_at,
          m.last_error, m.recipients, m.created_at, m.sent_at, o.event_type, o.payload";

#[derive(Queryable, QueryableByName, Selectable)]
#[diesel(table_name = mail_messages, check_for_backend(diesel::pg::Pg))]
struct MessageRow {
    id: Uuid,
    event_id: Uuid,
    template: String,
    audience: String,
    status: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    first_attempt_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    recipients: Option<String>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl MessageRow {
    fn into_domain(self) -> Result<MailMessage, StoreError> {
        Ok(MailMessage {
            id: MailId::from_uuid(self.id),
            event_id: EventId::from_uuid(self.event_id),
            template: self.template,
            audience: self.audience.parse().map_err(|_| corrupt("mail audience"))?,
            status: self.status.parse().map_err(|_| corrupt("mail status"))?,
            attempts: u32::try_from(self.attempts).map_err(|_| corrupt("mail attempts"))?,
            next_attempt_at: self.next_attempt_at,
            first_attempt_at: self.first_attempt_at,
            last_error: self.last_error,
            recipients: self.recipients,
            created_at: self.created_at,
            sent_at: self.sent_at,
        })
    }
}

#[derive(QueryableByName)]
struct ClaimRow {
    #[diesel(embed)]
    message: MessageRow,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

type ContactRow = (i64, String, Option<String>, String, DateTime<Utc>);

fn contact_of((user_id, email, name, locale, updated_at): ContactRow) -> Contact {
    Contact { user_id: UserId::new(user_id), email, name, locale, updated_at }
}

#[async_trait]
impl MailStore for PgStore {
    async fn route(&self, now: DateTime<Utc>, rules: Vec<MessageRule>, limit: u32) -> Result<u64, StoreError> {
        self.run(move |conn| {
            let types: Vec<&str> = rules.iter().map(|r| r.event.as_str()).collect();
            let templates: Vec<&str> = rules.iter().map(|r| r.template).collect();
            let audiences: Vec<&str> = rules.iter().map(|r| r.audience.as_str()).collect();
            let routed: Count = diesel::sql_query(ROUTE_SQL)
                .bind::<Timestamptz, _>(now)
                .bind::<BigInt, _>(i64::from(limit))
                .bind::<Array<Text>, _>(&types)
                .bind::<Array<Text>, _>(&templates)
                .bind::<Array<Text>, _>(&audiences)
                .get_result(conn)
                .map_err(store_error)?;
            u64::try_from(routed.n).map_err(|_| corrupt("count"))
        })
        .await
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, StoreError> {
        self.run(move |conn| {
            let rows: Vec<ClaimRow> = diesel::sql_query(CLAIM_SQL)
                .bind::<Timestamptz, _>(now)
                .bind::<Timestamptz, _>(lease_until)
                .bind::<BigInt, _>(i64::from(limit))
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter()
                .map(|row| {
                    Ok(ClaimedMail {
                        message: row.message.into_domain()?,
                        event_type: EventType::parse(&row.event_type).ok_or_else(|| corrupt("event type"))?,
                        object: row.payload,
                        lease_until,
                    })
                })
                .collect()
        })
        .await
    }

    async fn record(
        &self,
        id: MailId,
        lease_until: DateTime<Utc>,
        attempted_at: DateTime<Utc>,
        outcome: MailOutcome,
    ) -> Result<bool, StoreError> {
        self.run(move |conn| {
            let (status, next, error, recipients, sent_at) = match outcome {
                MailOutcome::Sent { recipients } => {
                    (MailStatus::Sent, attempted_at, None, Some(recipients), Some(attempted_at))
                }
                MailOutcome::Suppressed { recipients } => {
                    (MailStatus::Suppressed, attempted_at, None, Some(recipients), None)
                }
                MailOutcome::Retry { at, error } => (MailStatus::Pending, at, Some(error), None, None),
                MailOutcome::Failed { error } => (MailStatus::Failed, attempted_at, Some(error), None, None),
                MailOutcome::Dead { error } => (MailStatus::Dead, attempted_at, Some(error), None, None),
            };
            let updated = diesel::update(
                mail_messages::table
                    .find(id.uuid())
                    .filter(mail_messages::locked_until.eq(lease_until))
                    .filter(mail_messages::status.eq(MailStatus::Pending.as_str())),
            )
            .set((
                mail_messages::status.eq(status.as_str()),
                mail_messages::attempts.eq(mail_messages::attempts + 1),
                mail_messages::next_attempt_at.eq(next),
                mail_messages::locked_until.eq(None::<DateTime<Utc>>),
                mail_messages::last_error.eq(error),
                mail_messages::recipients.eq(recipients),
                mail_messages::sent_at.eq(sent_at),
            ))
            .execute(conn)
            .map_err(store_error)?;
            Ok(updated == 1)
        })
        .await
    }

    async fn messages(&self, query: MailQuery) -> Result<Page<MailMessage>, StoreError> {
        self.run(move |conn| {
            let mut q = mail_messages::table.select(MessageRow::as_select()).into_boxed();
            if let Some(status) = query.status {
                q = q.filter(mail_messages::status.eq(status.as_str()));
            }
            let rows: Vec<MessageRow> = keyset_page!(q, mail_messages, query.page)
                .limit(i64::from(query.page.limit) + 1)
                .load(conn)
                .map_err(store_error)?;
            let items = rows.into_iter().map(MessageRow::into_domain).collect::<Result<Vec<_>, _>>()?;
            Ok(paginate(items, query.page.limit, |m| (m.created_at, m.id.uuid())))
        })
        .await
    }

    async fn resend(&self, id: MailId, now: DateTime<Utc>) -> Result<Option<MailMessage>, StoreError> {
        self.run(move |conn| {
            diesel::update(mail_messages::table.find(id.uuid()))
                .set((
                    mail_messages::status.eq(MailStatus::Pending.as_str()),
                    mail_messages::next_attempt_at.eq(now),
                    mail_messages::locked_until.eq(None::<DateTime<Utc>>),
                    mail_messages::first_attempt_at.eq(None::<DateTime<Utc>>),
                ))
                .returning(MessageRow::as_returning())
                .get_result::<MessageRow>(conn)
                .optional()
                .map_err(store_error)?
                .map(MessageRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn contact(&self, user: UserId) -> Result<Option<Contact>, StoreError> {
        self.run(move |conn| {
            let row: Option<ContactRow> = contacts::table
                .find(user.get())
                .select((contacts::user_id, contacts::email, contacts::name, contacts::locale, contacts::updated_at))
                .first(conn)
                .optional()
                .map_err(store_error)?;
            Ok(row.map(contact_of))
        })
        .await
    }

    async fn put_contact(&self, contact: Contact) -> Result<Contact, StoreError> {
        self.run(move |conn| {
            let values = (
                contacts::user_id.eq(contact.user_id.get()),
                contacts::email.eq(&contact.email),
                contacts::name.eq(&contact.name),
                contacts::locale.eq(&contact.locale),
                contacts::updated_at.eq(contact.updated_at),
            );
            let row: ContactRow = diesel::insert_into(contacts::table)
                .values(values)
                .on_conflict(contacts::user_id)
                .do_update()
                .set((
                    contacts::email.eq(&contact.email),
                    contacts::name.eq(&contact.name),
                    contacts::locale.eq(&contact.locale),
                    contacts::updated_at.eq(contact.updated_at),
                    contacts::source.eq("api"),
                ))
                .returning((contacts::user_id, contacts::email, contacts::name, contacts::locale, contacts::updated_at))
                .get_result(conn)
                .map_err(store_error)?;
            Ok(contact_of(row))
        })
        .await
    }

    async fn learn_contact(&self, contact: Contact) -> Result<bool, StoreError> {
        self.run(move |conn| {
            let changed = diesel::sql_query(LEARN_CONTACT_SQL)
                .bind::<BigInt, _>(contact.user_id.get())
                .bind::<Text, _>(&contact.email)
                .bind::<diesel::sql_types::Nullable<Text>, _>(&contact.name)
                .bind::<Text, _>(&contact.locale)
                .bind::<Timestamptz, _>(contact.updated_at)
                .execute(conn)
                .map_err(store_error)?;
            Ok(changed > 0)
        })
        .await
    }
}

/// Records what a token says of its holder unless the platform set the
/// record through the API; writes nothing when nothing changed.
const LEARN_CONTACT_SQL: &str = "\
    INSERT INTO contacts (user_id, email, name, locale, updated_at, source) \
    VALUES ($1, $2, $3, $4, $5, 'token') \
    ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, \
        locale = EXCLUDED.locale, updated_at = EXCLUDED.updated_at \
    WHERE contacts.source = 'token' \
      AND (contacts.email, contacts.name, contacts.locale) \
          IS DISTINCT FROM (EXCLUDED.email, EXCLUDED.name, EXCLUDED.locale)";
