//! Ledger storage: journals, append-only entries and striped balances.
//!
//! Each account's kept balance is spread over [`BALANCE_SHARDS`] rows; a
//! journal adds to the shard chosen by its id, so concurrent sales touch
//! different platform-revenue and gateway-clearing rows instead of queueing
//! on one. Reading a balance sums at most that many rows, whatever the
//! history. Balance rows are updated in a fixed (account, currency) order so
//! two journals never wait on each other in opposite orders.
//!
//! Test and live money are kept apart: a journal has its owner's mode
//! (foreign keys on `(payment_id, livemode)` and `(payout_id, livemode)`
//! refuse another), the one statement writing it moves only balances of
//! that mode, and verification checks each mode on its own.

use std::collections::BTreeMap;

use chrono::Utc;
use diesel::dsl::sum;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, SmallInt, Text, Timestamptz};
use domain::ledger::Journal;
use domain::ports::StoreError;

use crate::errors::store_error;
use crate::pool::PgStore;
use crate::prepared::{PreparedExt, Unread};
use crate::schema::{ledger_balances, ledger_entries, ledger_journals};

mod verify;
pub use verify::{LedgerVerification, ModeVerification};

/// Rows each account's balance is spread over.
pub const BALANCE_SHARDS: i16 = 16;

fn shard_of(journal: &Journal) -> i16 {
    let bytes = journal.id().uuid().into_bytes();
    // The last bytes of a v7 uuid are random: a fair spread over shards.
    let spread = u16::from_le_bytes([bytes[14], bytes[15]]);
    i16::try_from(spread % u16::try_from(BALANCE_SHARDS).unwrap_or(1)).unwrap_or(0)
}

/// A journal, its entries and its kept balances in one statement (one
/// round trip, whatever the number of entries), in the journal's mode
/// (`$12`: its row and its balances; `$13`: a settlement journal, owned
/// by no payment or payout). Entries go in the
/// journal's order; each account's net change is added to the journal's
/// shard row, accounts in sorted order, so two journals never lock shared
/// balance rows in opposite orders. The journal must balance by commit
/// (a deferred constraint trigger on the entries checks it).
const WRITE_JOURNAL: &str = "\
WITH journal AS (
    INSERT INTO ledger_journals (id, kind, payment_id, payout_id, currency, posted_at, livemode, settlement)
    VALUES ($1, $2, $3, $4, $5, $6, $12, $13)
    RETURNING id
), entries AS (
    INSERT INTO ledger_entries (journal_id, account, currency, amount_minor)
    SELECT journal.id, e.account, $5, e.amount_minor
      FROM journal, unnest($7::text[], $8::bigint[]) WITH ORDINALITY AS e (account, amount_minor, n)
     ORDER BY e.n
)
INSERT INTO ledger_balances AS b (account, currency, livemode, shard, balance_minor, updated_at)
SELECT t.account, $5, $12, $9, t.delta, $6
  FROM unnest($10::text[], $11::bigint[]) WITH ORDINALITY AS t (account, delta, n)
 ORDER BY t.n
ON CONFLICT (account, currency, livemode, shard) DO UPDATE
   SET balance_minor = b.balance_minor + EXCLUDED.balance_minor, updated_at = EXCLUDED.updated_at
RETURNING b.balance_minor";

pub(crate) fn write_journal(conn: &mut PgConnection, journal: &Journal) -> QueryResult<()> {
    let (accounts, amounts): (Vec<String>, Vec<i64>) =
        journal.entries().iter().map(|e| (e.account.code(), e.amount_minor)).unzip();
    let mut per_account: BTreeMap<String, i64> = BTreeMap::new();
    for (account, amount) in accounts.iter().zip(&amounts) {
        let total = per_account.entry(account.clone()).or_insert(0);
        *total = total.saturating_add(*amount);
    }
    let (balance_accounts, deltas): (Vec<String>, Vec<i64>) = per_account.into_iter().unzip();
    diesel::sql_query(WRITE_JOURNAL)
        .bind::<diesel::sql_types::Uuid, _>(journal.id().uuid())
        .bind::<Text, _>(journal.kind().as_str())
        .bind::<Nullable<diesel::sql_types::Uuid>, _>(journal.payment_id().map(|id| id.uuid()))
        .bind::<Nullable<diesel::sql_types::Uuid>, _>(journal.payout_id().map(|id| id.uuid()))
        .bind::<Text, _>(journal.currency().code())
        .bind::<Timestamptz, _>(journal.posted_at())
        .bind::<Array<Text>, _>(&accounts)
        .bind::<Array<BigInt>, _>(&amounts)
        .bind::<SmallInt, _>(shard_of(journal))
        .bind::<Array<Text>, _>(&balance_accounts)
        .bind::<Array<BigInt>, _>(&deltas)
        .bind::<diesel::sql_types::Bool, _>(journal.livemode())
        .bind::<diesel::sql_types::Bool, _>(journal.subject() == domain::ledger::JournalSubject::Settlement)
        .prepared()
        .load::<Unread>(conn)
        .map(|_| ())
}

/// An account's balance in one currency (signed minor units: debit positive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBalance {
    /// Account code.
    pub account: String,
    /// Currency code.
    pub currency: String,
    /// Signed balance in minor units.
    pub balance_minor: i64,
}

impl PgStore {
    /// Kept balance of one account in one currency and mode.
    pub async fn account_balance(&self, account: String, currency: String, livemode: bool) -> Result<i64, StoreError> {
        self.run(move |conn| {
            ledger_balances::table
                .filter(ledger_balances::account.eq(account))
                .filter(ledger_balances::currency.eq(currency))
                .filter(ledger_balances::livemode.eq(livemode))
                .select(sum(ledger_balances::balance_minor))
                .first::<Option<rust_decimal::Decimal>>(conn)
                .map_err(store_error)
                .and_then(|total| {
                    i64::try_from(total.unwrap_or_default())
                        .map_err(|_| StoreError::Corrupt("balance out of range".to_owned()))
                })
        })
        .await
    }

    /// The time of the newest journal, for operators.
    pub async fn last_posting(&self) -> Result<Option<chrono::DateTime<Utc>>, StoreError> {
        self.run(|conn| {
            ledger_journals::table.select(diesel::dsl::max(ledger_journals::posted_at)).first(conn).map_err(store_error)
        })
        .await
    }
}

#[async_trait::async_trait]
impl domain::ports::LedgerQueries for PgStore {
    async fn balance(
        &self,
        account: domain::ledger::Account,
        currency: domain::money::Currency,
        livemode: bool,
    ) -> Result<domain::money::Money, StoreError> {
        let minor = self.account_balance(account.code(), currency.code().to_owned(), livemode).await?;
        Ok(domain::money::Money::from_minor(minor, currency))
    }

    async fn entries(
        &self,
        account: domain::ledger::Account,
        currency: domain::money::Currency,
        livemode: bool,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<domain::ports::LedgerEntryView>, StoreError> {
        self.run(move |conn| {
            let mut query = ledger_entries::table
                .inner_join(ledger_journals::table)
                .filter(ledger_entries::account.eq(account.code()))
                .filter(ledger_entries::currency.eq(currency.code()))
                .filter(ledger_journals::livemode.eq(livemode))
                .select((
                    ledger_entries::id,
                    ledger_entries::journal_id,
                    ledger_journals::kind,
                    ledger_journals::payment_id,
                    ledger_entries::amount_minor,
                    ledger_journals::posted_at,
                ))
                .into_boxed();
            if let Some(before) = before {
                query = query.filter(ledger_entries::id.lt(before));
            }
            let rows: Vec<(i64, uuid::Uuid, String, Option<uuid::Uuid>, i64, chrono::DateTime<Utc>)> =
                query.order(ledger_entries::id.desc()).limit(i64::from(limit)).load(conn).map_err(store_error)?;
            Ok(rows
                .into_iter()
                .map(|(sequence, journal, kind, payment, amount, posted_at)| domain::ports::LedgerEntryView {
                    sequence,
                    journal_id: domain::ids::JournalId::from_uuid(journal),
                    kind,
                    payment_id: payment.map(domain::ids::PaymentId::from_uuid),
                    amount: domain::money::Money::from_minor(amount, currency),
                    posted_at,
                })
                .collect())
        })
        .await
    }
}
