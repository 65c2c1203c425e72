//! The payout port on PostgreSQL. A request takes a transaction-scoped
//! advisory lock on (instructor, currency) and reads the available balance
//! under it, so concurrent requests can never overdraw it. Destinations are
//! sealed with the store's keyring (bound to table, column, row and key id).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::sum;
use diesel::prelude::*;
use diesel::sql_types::Text;
use domain::ids::{PaymentId, PayoutId, UserId};
use domain::ledger::Account;
use domain::money::{Currency, Money};
use domain::paging::Page;
use domain::payment::Payment;
use domain::payout::{InstructorBalance, Payout, PayoutDestination, PayoutMethod, PayoutStatus};
use domain::ports::{
    EarningsRepository, NewPayout, PayoutChange, PayoutQuery, PayoutRepository, RequestPayoutStoreError, StoreError,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::audit::decided_by;
use crate::errors::{TxError, corrupt, store_error};
use crate::keyset::keyset_page;
use crate::ledger::write_journal;
use crate::outbox::insert_events;
use crate::payments::paginate;
use crate::pool::PgStore;
use crate::rows::{PaymentRow, currency};
use crate::schema::{instructor_paid_out, ledger_balances, payments, payouts};

/// Where a sealed destination lives: part of every seal's associated data.
pub(crate) fn context(row: Uuid) -> String {
    format!("payouts/destination_encrypted/{row}")
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = payouts, check_for_backend(diesel::pg::Pg))]
struct PayoutRow {
    id: Uuid,
    instructor_id: i64,
    amount_minor: i64,
    currency: String,
    method: String,
    status: String,
    destination_masked: String,
    transaction_id: Option<String>,
    failure_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
    approved_by: Option<i64>,
    approved_at: Option<DateTime<Utc>>,
    admin_note: Option<String>,
    livemode: bool,
}

impl PayoutRow {
    fn from_domain(p: &Payout) -> Self {
        PayoutRow {
            id: p.id.uuid(),
            instructor_id: p.instructor_id.get(),
            amount_minor: p.amount.minor(),
            currency: p.amount.currency().code().to_owned(),
            method: p.method.as_str().to_owned(),
            status: p.status.as_str().to_owned(),
            destination_masked: p.destination_masked.clone(),
            transaction_id: p.transaction_id.clone(),
            failure_reason: p.failure_reason.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            paid_at: p.paid_at,
            approved_by: p.approved_by.map(|by| by.get()),
            approved_at: p.approved_at,
            admin_note: p.admin_note.clone(),
            livemode: p.livemode,
        }
    }

    fn into_domain(self) -> Result<Payout, StoreError> {
        Ok(Payout {
            id: PayoutId::from_uuid(self.id),
            instructor_id: UserId::new(self.instructor_id),
            amount: Money::from_minor(self.amount_minor, currency(&self.currency)?),
            method: self.method.parse().map_err(|_| corrupt("payout method"))?,
            status: PayoutStatus::parse(&self.status).ok_or_else(|| corrupt("payout status"))?,
            destination_masked: self.destination_masked,
            transaction_id: self.transaction_id,
            failure_reason: self.failure_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
            paid_at: self.paid_at,
            approved_by: self.approved_by.map(UserId::new),
            approved_at: self.approved_at,
            admin_note: self.admin_note,
            livemode: self.livemode,
        })
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = payouts)]
struct PayoutUpdate<'a> {
    status: &'a str,
    updated_at: DateTime<Utc>,
    transaction_id: Option<&'a str>,
    failure_reason: Option<&'a str>,
    paid_at: Option<DateTime<Utc>>,
    approved_by: Option<i64>,
    approved_at: Option<DateTime<Utc>>,
    admin_note: Option<&'a str>,
}

fn minor(total: Option<Decimal>) -> Result<i64, StoreError> {
    i64::try_from(total.unwrap_or_default()).map_err(|_| corrupt("balance out of range"))
}

/// One instructor's balances, per mode and currency (all of them, or only
/// `only`): two statements whatever the history. The three ledger accounts
/// are kept balances (at most [`crate::BALANCE_SHARDS`] rows each) and the
/// amount paid out is kept per instructor and currency by a trigger on
/// `payouts`, so neither read grows with the number of sales or payouts.
fn balances_of(
    conn: &mut PgConnection,
    instructor: UserId,
    only: Option<(Currency, bool)>,
) -> Result<Vec<InstructorBalance>, StoreError> {
    let pending = Account::InstructorPending(instructor).code();
    let payable = Account::InstructorPayable(instructor).code();
    let in_transit = Account::PayoutsInTransit(instructor).code();
    let mut kept = ledger_balances::table
        .filter(ledger_balances::account.eq_any([&pending, &payable, &in_transit]))
        .group_by((ledger_balances::livemode, ledger_balances::currency, ledger_balances::account))
        .select((
            ledger_balances::livemode,
            ledger_balances::currency,
            ledger_balances::account,
            sum(ledger_balances::balance_minor),
        ))
        .into_boxed();
    let mut paid = instructor_paid_out::table
        .filter(instructor_paid_out::instructor_id.eq(instructor.get()))
        .select((instructor_paid_out::livemode, instructor_paid_out::currency, instructor_paid_out::paid_minor))
        .into_boxed();
    if let Some((currency, livemode)) = only {
        let code = currency.code().to_owned();
        kept = kept.filter(ledger_balances::currency.eq(code.clone())).filter(ledger_balances::livemode.eq(livemode));
        paid = paid.filter(instructor_paid_out::currency.eq(code)).filter(instructor_paid_out::livemode.eq(livemode));
    }
    let kept: Vec<(bool, String, String, Option<Decimal>)> = kept.load(conn).map_err(store_error)?;
    let paid: Vec<(bool, String, i64)> = paid.load(conn).map_err(store_error)?;
    // Per mode (live first) and currency: pending, payable, in transit
    // (credit balances, as positive amounts) and paid out.
    let mut per: BTreeMap<(std::cmp::Reverse<bool>, String), [i64; 4]> = BTreeMap::new();
    if let Some((currency, livemode)) = only {
        per.insert((std::cmp::Reverse(livemode), currency.code().to_owned()), [0; 4]);
    }
    for (livemode, code, account, total) in kept {
        let slot = if account == pending {
            0
        } else if account == payable {
            1
        } else {
            2
        };
        // Liability accounts carry credit (negative) balances: flip the sign.
        per.entry((std::cmp::Reverse(livemode), code)).or_default()[slot] = minor(total)?.saturating_neg();
    }
    for (livemode, code, paid_minor) in paid {
        per.entry((std::cmp::Reverse(livemode), code)).or_default()[3] = paid_minor;
    }
    per.into_iter()
        .map(|((std::cmp::Reverse(livemode), code), [pending, payable, in_transit, paid])| {
            let currency = currency(&code)?;
            let money = |minor| Money::from_minor(minor, currency);
            Ok(InstructorBalance::from_kept(livemode, money(pending), money(payable), money(in_transit), money(paid)))
        })
        .collect()
}

/// One instructor's balance in one currency and mode.
fn balance_in(
    conn: &mut PgConnection,
    instructor: UserId,
    currency: Currency,
    livemode: bool,
) -> Result<InstructorBalance, StoreError> {
    balances_of(conn, instructor, Some((currency, livemode)))?.pop().ok_or_else(|| corrupt("balance"))
}

#[async_trait]
impl PayoutRepository for PgStore {
    async fn request(&self, new: NewPayout) -> Result<Payout, RequestPayoutStoreError> {
        let keyring = self.keyring().ok_or(RequestPayoutStoreError::NoEncryptionKey)?;
        let plain = serde_json::to_vec(&new.destination).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (key_id, sealed) = keyring
            .seal(&plain, &context(new.payout.id.uuid()))
            .map_err(|e| RequestPayoutStoreError::Store(StoreError::Unavailable(e.to_string())))?;
        self.run(move |conn| {
            let result = conn.transaction::<Payout, TxError<RequestPayoutStoreError>, _>(|conn| {
                let payout = &new.payout;
                decided_by(conn, Some(new.requested_by))?;
                let lock_key = format!(
                    "payout:{}:{}:{}",
                    payout.instructor_id,
                    payout.amount.currency().code(),
                    domain::gateway_config::GatewayMode::of(payout.livemode).as_str()
                );
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind::<Text, _>(&lock_key)
                    .execute(conn)?;
                // Read after the lock: a racing request committed before we
                // got it is seen here (read committed: a fresh snapshot).
                let available =
                    balance_in(conn, payout.instructor_id, payout.amount.currency(), payout.livemode)?.available;
                if payout.amount.minor() > available.minor() {
                    return Err(TxError::Refused(RequestPayoutStoreError::InsufficientBalance { available }));
                }
                let stored: PayoutRow = diesel::insert_into(payouts::table)
                    .values((
                        PayoutRow::from_domain(payout),
                        payouts::destination_encrypted.eq(&sealed),
                        payouts::destination_key_id.eq(&key_id),
                    ))
                    .returning(PayoutRow::as_returning())
                    .get_result(conn)?;
                write_journal(conn, &new.journal)?;
                insert_events(conn, &new.outbox)?;
                Ok(stored.into_domain()?)
            });
            match result {
                Ok(payout) => Ok(Ok(payout)),
                Err(e) => e.into_result().map(Err),
            }
        })
        .await?
    }

    async fn find(&self, id: PayoutId) -> Result<Option<Payout>, StoreError> {
        self.run(move |conn| {
            payouts::table
                .find(id.uuid())
                .select(PayoutRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(PayoutRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn find_by_transaction_id(
        &self,
        method: PayoutMethod,
        transaction_id: String,
    ) -> Result<Option<Payout>, StoreError> {
        self.run(move |conn| {
            payouts::table
                .filter(payouts::method.eq(method.as_str()))
                .filter(payouts::transaction_id.eq(transaction_id))
                .select(PayoutRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(PayoutRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn destination(&self, id: PayoutId) -> Result<Option<PayoutDestination>, StoreError> {
        let keyring = self.keyring();
        self.run(move |conn| {
            let row: Option<(Vec<u8>, String)> = payouts::table
                .find(id.uuid())
                .select((payouts::destination_encrypted, payouts::destination_key_id))
                .first(conn)
                .optional()
                .map_err(store_error)?;
            let Some((sealed, key_id)) = row else {
                return Ok(None);
            };
            let keyring = keyring.ok_or_else(|| corrupt("sealed payout destination but no encryption key"))?;
            let plain = keyring.open(&key_id, &sealed, &context(id.uuid())).map_err(|e| corrupt(&e.to_string()))?;
            serde_json::from_slice(&plain).map(Some).map_err(|_| corrupt("payout destination"))
        })
        .await
    }

    async fn list(&self, query: PayoutQuery) -> Result<Page<Payout>, StoreError> {
        self.run(move |conn| {
            let mut q = payouts::table.select(PayoutRow::as_select()).into_boxed();
            if let Some(instructor) = query.instructor {
                q = q.filter(payouts::instructor_id.eq(instructor.get()));
            }
            if let Some(status) = query.status {
                q = q.filter(payouts::status.eq(status.as_str()));
            }
            if let Some(method) = query.method {
                q = q.filter(payouts::method.eq(method.as_str()));
            }
            if let Some(livemode) = query.livemode {
                q = q.filter(payouts::livemode.eq(livemode));
            }
            let rows: Vec<PayoutRow> = keyset_page!(q, payouts, query.page)
                .limit(i64::from(query.page.limit) + 1)
                .load(conn)
                .map_err(store_error)?;
            let items = rows.into_iter().map(PayoutRow::into_domain).collect::<Result<Vec<_>, _>>()?;
            Ok(paginate(items, query.page.limit, |p| (p.created_at, p.id.uuid())))
        })
        .await
    }

    async fn processing(&self, limit: u32) -> Result<Vec<Payout>, StoreError> {
        self.run(move |conn| {
            let rows: Vec<PayoutRow> = payouts::table
                .filter(payouts::status.eq(PayoutStatus::Processing.as_str()))
                .filter(payouts::transaction_id.is_not_null())
                .order(diesel::dsl::sql::<diesel::sql_types::Double>("random()"))
                .limit(i64::from(limit))
                .select(PayoutRow::as_select())
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter().map(PayoutRow::into_domain).collect()
        })
        .await
    }

    async fn apply(&self, change: PayoutChange) -> Result<bool, StoreError> {
        self.run(move |conn| {
            let result = conn.transaction::<bool, TxError<()>, _>(|conn| {
                let target =
                    payouts::table.find(change.payout_id.uuid()).filter(payouts::status.eq(change.from.as_str()));
                decided_by(conn, change.by)?;
                let approver = change.by.filter(|_| change.to == PayoutStatus::Approved);
                // One statement: `None` fields are left as they are.
                let update = PayoutUpdate {
                    status: change.to.as_str(),
                    updated_at: change.at,
                    transaction_id: change.transaction_id.as_deref(),
                    failure_reason: change.failure_reason.as_deref(),
                    paid_at: (change.to == PayoutStatus::Paid && change.from != PayoutStatus::Paid)
                        .then_some(change.at),
                    approved_by: approver.map(|by| by.user_id.get()),
                    approved_at: approver.map(|_| change.at),
                    admin_note: change.admin_note.as_deref(),
                };
                if diesel::update(target).set(&update).execute(conn)? == 0 {
                    return Ok(false);
                }
                if let Some(journal) = &change.journal {
                    write_journal(conn, journal)?;
                }
                insert_events(conn, &change.outbox)?;
                Ok(true)
            });
            match result {
                Ok(applied) => Ok(applied),
                Err(e) => e.into_result().map(|()| false),
            }
        })
        .await
    }

    async fn balances(&self, instructor: UserId) -> Result<Vec<InstructorBalance>, StoreError> {
        self.run(move |conn| balances_of(conn, instructor, None)).await
    }

    async fn balance(
        &self,
        instructor: UserId,
        currency: Currency,
        livemode: bool,
    ) -> Result<InstructorBalance, StoreError> {
        self.run(move |conn| balance_in(conn, instructor, currency, livemode)).await
    }
}

#[async_trait]
impl EarningsRepository for PgStore {
    async fn due_releases(&self, cutoff: DateTime<Utc>, limit: u32) -> Result<Vec<Payment>, StoreError> {
        self.run(move |conn| {
            let rows: Vec<PaymentRow> = payments::table
                .filter(payments::earnings_released_at.is_null())
                .filter(payments::completed_at.le(cutoff))
                // Held for review, or refunded while held: never sold.
                .filter(payments::fraud_review.eq(false))
                .filter(payments::instructor_earnings_minor.gt(0))
                .order(payments::completed_at)
                .limit(i64::from(limit))
                .select(PaymentRow::as_select())
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter().map(PaymentRow::into_domain).collect()
        })
        .await
    }

    async fn release(
        &self,
        payment: PaymentId,
        at: DateTime<Utc>,
        journal: Option<domain::ledger::Journal>,
    ) -> Result<bool, StoreError> {
        self.run(move |conn| {
            conn.transaction::<bool, diesel::result::Error, _>(|conn| {
                let moved = diesel::update(
                    payments::table.find(payment.uuid()).filter(payments::earnings_released_at.is_null()),
                )
                .set(payments::earnings_released_at.eq(at))
                .execute(conn)?;
                if moved == 0 {
                    return Ok(false);
                }
                if let Some(journal) = &journal {
                    write_journal(conn, journal)?;
                }
                Ok(true)
            })
            .map_err(store_error)
        })
        .await
    }
}
