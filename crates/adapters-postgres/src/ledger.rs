//! Ledger storage: journals, append-only entries and striped balances.
//!
//! Each account's kept balance is spread over [`BALANCE_SHARDS`] rows; a
//! journal adds to the shard chosen by its id, so concurrent sales touch
//! different platform-revenue and gateway-clearing rows instead of queueing
//! on one. Reading a balance sums at most that many rows, whatever the
//! history. Balance rows are updated in a fixed (account, currency) order so
//! two journals never wait on each other in opposite orders.

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

/// Rows each account's balance is spread over.
pub const BALANCE_SHARDS: i16 = 16;

fn shard_of(journal: &Journal) -> i16 {
    let bytes = journal.id().uuid().into_bytes();
    // The last bytes of a v7 uuid are random: a fair spread over shards.
    let spread = u16::from_le_bytes([bytes[14], bytes[15]]);
    i16::try_from(spread % u16::try_from(BALANCE_SHARDS).unwrap_or(1)).unwrap_or(0)
}

/// A journal, its entries and its kept balances in one statement (one
/// round trip, whatever the number of entries). Entries go in the
/// journal's order; each account's net change is added to the journal's
/// shard row, accounts in sorted order, so two journals never lock shared
/// balance rows in opposite orders. The journal must balance by commit
/// (a deferred constraint trigger on the entries checks it).
const WRITE_JOURNAL: &str = "\
WITH journal AS (
    INSERT INTO ledger_journals (id, kind, payment_id, payout_id, currency, posted_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    RETURNING id
), entries AS (
    INSERT INTO ledger_entries (journal_id, account, currency, amount_minor)
    SELECT journal.id, e.account, $5, e.amount_minor
      FROM journal, unnest($7::text[], $8::bigint[]) WITH ORDINALITY AS e (account, amount_minor, n)
     ORDER BY e.n
)
INSERT INTO ledger_balances AS b (account, currency, shard, balance_minor, updated_at)
SELECT t.account, $5, $9, t.delta, $6
  FROM unnest($10::text[], $11::bigint[]) WITH ORDINALITY AS t (account, delta, n)
 ORDER BY t.n
ON CONFLICT (account, currency, shard) DO UPDATE
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
        .prepared()
        .load::<Unread>(conn)
        .map(|_| ())
}

/// The first instructor and currency whose kept amount paid out differs
/// from the sum of their paid payouts.
fn paid_out_discrepancy(conn: &mut PgConnection) -> QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct Mismatch {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        instructor_id: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        currency: String,
        #[diesel(sql_type = diesel::sql_types::Numeric)]
        kept: rust_decimal::Decimal,
        #[diesel(sql_type = diesel::sql_types::Numeric)]
        paid: rust_decimal::Decimal,
    }
    let mismatch: Option<Mismatch> = diesel::sql_query(
        "SELECT instructor_id, currency, coalesce(k.paid_minor, 0)::numeric AS kept,
                coalesce(p.paid, 0) AS paid
         FROM instructor_paid_out k
         FULL JOIN (SELECT instructor_id, currency, sum(amount_minor) AS paid
                    FROM payouts WHERE status = 'paid' GROUP BY 1, 2) p USING (instructor_id, currency)
         WHERE coalesce(k.paid_minor, 0) <> coalesce(p.paid, 0)
         ORDER BY instructor_id, currency LIMIT 1",
    )
    .get_result(conn)
    .optional()?;
    Ok(mismatch.map(|m| {
        format!(
            "instructor {} {}: kept paid out {}, paid payouts sum to {}",
            m.instructor_id, m.currency, m.kept, m.paid
        )
    }))
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

/// The result of checking the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerVerification {
    /// Journals checked.
    pub journals: i64,
    /// First problem found, if any.
    pub first_discrepancy: Option<String>,
}

impl PgStore {
    /// Kept balance of one account in one currency.
    pub async fn account_balance(&self, account: String, currency: String) -> Result<i64, StoreError> {
        self.run(move |conn| {
            ledger_balances::table
                .filter(ledger_balances::account.eq(account))
                .filter(ledger_balances::currency.eq(currency))
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

    /// Recomputes every balance from the entries and checks that every
    /// journal balances, the total per currency is zero and every kept
    /// amount paid out equals the sum of the instructor's paid payouts.
    pub async fn verify_ledger(&self) -> Result<LedgerVerification, StoreError> {
        self.run(|conn| {
            conn.build_transaction()
                .repeatable_read()
                .read_only()
                .run(|conn| {
                    let journals: i64 = ledger_journals::table.count().get_result(conn)?;
                    let unbalanced: Option<(uuid::Uuid, Option<rust_decimal::Decimal>)> = ledger_entries::table
                        .group_by(ledger_entries::journal_id)
                        .select((ledger_entries::journal_id, sum(ledger_entries::amount_minor)))
                        .having(sum(ledger_entries::amount_minor).ne(rust_decimal::Decimal::ZERO))
                        .first(conn)
                        .optional()?;
                    if let Some((journal, total)) = unbalanced {
                        return Ok(LedgerVerification {
                            journals,
                            first_discrepancy: Some(format!(
                                "journal {journal} sums to {} instead of 0",
                                total.unwrap_or_default()
                            )),
                        });
                    }
                    let from_entries: Vec<(String, String, Option<rust_decimal::Decimal>)> = ledger_entries::table
                        .group_by((ledger_entries::account, ledger_entries::currency))
                        .select((ledger_entries::account, ledger_entries::currency, sum(ledger_entries::amount_minor)))
                        .order((ledger_entries::account, ledger_entries::currency))
                        .load(conn)?;
                    let kept: Vec<(String, String, Option<rust_decimal::Decimal>)> = ledger_balances::table
                        .group_by((ledger_balances::account, ledger_balances::currency))
                        .select((
                            ledger_balances::account,
                            ledger_balances::currency,
                            sum(ledger_balances::balance_minor),
                        ))
                        .order((ledger_balances::account, ledger_balances::currency))
                        .load(conn)?;
                    let kept: BTreeMap<(String, String), rust_decimal::Decimal> =
                        kept.into_iter().map(|(a, c, s)| ((a, c), s.unwrap_or_default())).collect();
                    let mut per_currency: BTreeMap<String, rust_decimal::Decimal> = BTreeMap::new();
                    for (account, currency, total) in &from_entries {
                        let total = total.unwrap_or_default();
                        *per_currency.entry(currency.clone()).or_default() += total;
                        let stored = kept.get(&(account.clone(), currency.clone())).copied().unwrap_or_default();
                        if stored != total {
                            return Ok(LedgerVerification {
                                journals,
                                first_discrepancy: Some(format!(
                                    "account {account} {currency}: kept balance {stored}, entries sum to {total}"
                                )),
                            });
                        }
                    }
                    if kept.len() > from_entries.len() {
                        return Ok(LedgerVerification {
                            journals,
                            first_discrepancy: Some("a kept balance has no entries".to_owned()),
                        });
                    }
                    if let Some((c, t)) = per_currency.into_iter().find(|(_, total)| !total.is_zero()) {
                        return Ok(LedgerVerification {
                            journals,
                            first_discrepancy: Some(format!("entries in {c} sum to {t} instead of 0")),
                        });
                    }
                    Ok(LedgerVerification { journals, first_discrepancy: paid_out_discrepancy(conn)? })
                })
                .map_err(store_error)
        })
        .await
    }

    /// Sum of all entries per currency (zero for a healthy ledger).
    pub async fn ledger_totals(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.run(|conn| {
            let rows: Vec<(String, Option<rust_decimal::Decimal>)> = ledger_entries::table
                .group_by(ledger_entries::currency)
                .select((ledger_entries::currency, sum(ledger_entries::amount_minor)))
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter()
                .map(|(c, s)| {
                    i64::try_from(s.unwrap_or_default())
                        .map(|v| (c, v))
                        .map_err(|_| StoreError::Corrupt("total out of range".to_owned()))
                })
                .collect()
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
    ) -> Result<domain::money::Money, StoreError> {
        let minor = self.account_balance(account.code(), currency.code().to_owned()).await?;
        Ok(domain::money::Money::from_minor(minor, currency))
    }

    async fn entries(
        &self,
        account: domain::ledger::Account,
        currency: domain::money::Currency,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<domain::ports::LedgerEntryView>, StoreError> {
        self.run(move |conn| {
            let mut query = ledger_entries::table
                .inner_join(ledger_journals::table)
                .filter(ledger_entries::account.eq(account.code()))
                .filter(ledger_entries::currency.eq(currency.code()))
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
