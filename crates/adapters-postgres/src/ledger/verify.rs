//! Checking the ledger, each mode on its own: test money and live money
//! are two sets of books that must each balance.

use std::collections::BTreeMap;

use diesel::dsl::sum;
use diesel::prelude::*;
use domain::gateway_config::GatewayMode;
use domain::ports::StoreError;
use domain::reconciliation::SettledGateway;
use rust_decimal::Decimal;

use crate::errors::store_error;
use crate::pool::PgStore;
use crate::schema::{ledger_balances, ledger_entries, ledger_journals};

/// What checking one mode's books found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeVerification {
    /// Live money (`true`) or test money.
    pub livemode: bool,
    /// Journals of this mode checked.
    pub journals: i64,
    /// First problem found in this mode, if any.
    pub first_discrepancy: Option<String>,
}

/// The result of checking the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerVerification {
    /// Journals checked, both modes.
    pub journals: i64,
    /// Live, then test.
    pub modes: Vec<ModeVerification>,
    /// First problem found, if any, named with its mode (`live: ...`).
    pub first_discrepancy: Option<String>,
}

impl PgStore {
    /// Recomputes every balance of each mode from the entries of that
    /// mode's journals and checks that every journal balances, each
    /// currency's entries of each mode sum to zero, every kept balance
    /// matches, and every kept amount paid out equals the sum of the
    /// instructor's paid payouts of that mode. One read-only snapshot.
    pub async fn verify_ledger(&self) -> Result<LedgerVerification, StoreError> {
        self.run(|conn| {
            conn.build_transaction()
                .repeatable_read()
                .read_only()
                .run(|conn| {
                    let modes = [true, false]
                        .into_iter()
                        .map(|livemode| verify_mode(conn, livemode))
                        .collect::<QueryResult<Vec<_>>>()?;
                    let first_discrepancy = modes.iter().find_map(|m| {
                        m.first_discrepancy
                            .as_ref()
                            .map(|problem| format!("{}: {problem}", GatewayMode::of(m.livemode).as_str()))
                    });
                    Ok(LedgerVerification {
                        journals: modes.iter().map(|m| m.journals).sum(),
                        modes,
                        first_discrepancy,
                    })
                })
                .map_err(store_error)
        })
        .await
    }

    /// Sum of all entries per currency and mode (zero for a healthy
    /// ledger): `(currency, livemode, total)`.
    pub async fn ledger_totals(&self) -> Result<Vec<(String, bool, i64)>, StoreError> {
        self.run(|conn| {
            let rows: Vec<(String, bool, Option<Decimal>)> = ledger_entries::table
                .inner_join(ledger_journals::table)
                .group_by((ledger_journals::currency, ledger_journals::livemode))
                .select((ledger_journals::currency, ledger_journals::livemode, sum(ledger_entries::amount_minor)))
                .order((ledger_journals::currency, ledger_journals::livemode))
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter()
                .map(|(c, livemode, s)| {
                    i64::try_from(s.unwrap_or_default())
                        .map(|v| (c, livemode, v))
                        .map_err(|_| StoreError::Corrupt("total out of range".to_owned()))
                })
                .collect()
        })
        .await
    }
}

fn verify_mode(conn: &mut PgConnection, livemode: bool) -> QueryResult<ModeVerification> {
    let journals: i64 =
        ledger_journals::table.filter(ledger_journals::livemode.eq(livemode)).count().get_result(conn)?;
    let first_discrepancy = first_problem(conn, livemode)?;
    Ok(ModeVerification { livemode, journals, first_discrepancy })
}

fn first_problem(conn: &mut PgConnection, livemode: bool) -> QueryResult<Option<String>> {
    let of_mode = ledger_journals::livemode.eq(livemode);
    let unbalanced: Option<(uuid::Uuid, Option<Decimal>)> = ledger_entries::table
        .inner_join(ledger_journals::table)
        .filter(of_mode)
        .group_by(ledger_entries::journal_id)
        .select((ledger_entries::journal_id, sum(ledger_entries::amount_minor)))
        .having(sum(ledger_entries::amount_minor).ne(Decimal::ZERO))
        .first(conn)
        .optional()?;
    if let Some((journal, total)) = unbalanced {
        return Ok(Some(format!("journal {journal} sums to {} instead of 0", total.unwrap_or_default())));
    }
    let from_entries: Vec<(String, String, Option<Decimal>)> = ledger_entries::table
        .inner_join(ledger_journals::table)
        .filter(of_mode)
        .group_by((ledger_entries::account, ledger_entries::currency))
        .select((ledger_entries::account, ledger_entries::currency, sum(ledger_entries::amount_minor)))
        .order((ledger_entries::account, ledger_entries::currency))
        .load(conn)?;
    let kept: Vec<(String, String, Option<Decimal>)> = ledger_balances::table
        .filter(ledger_balances::livemode.eq(livemode))
        .group_by((ledger_balances::account, ledger_balances::currency))
        .select((ledger_balances::account, ledger_balances::currency, sum(ledger_balances::balance_minor)))
        .load(conn)?;
    let mut kept: BTreeMap<(String, String), Decimal> =
        kept.into_iter().map(|(a, c, s)| ((a, c), s.unwrap_or_default())).collect();
    let mut per_currency: BTreeMap<String, Decimal> = BTreeMap::new();
    for (account, currency, total) in from_entries {
        let total = total.unwrap_or_default();
        *per_currency.entry(currency.clone()).or_default() += total;
        let stored = kept.remove(&(account.clone(), currency.clone())).unwrap_or_default();
        if stored != total {
            return Ok(Some(format!("account {account} {currency}: kept balance {stored}, entries sum to {total}")));
        }
    }
    if let Some(((account, currency), stored)) = kept.into_iter().find(|(_, stored)| !stored.is_zero()) {
        return Ok(Some(format!("account {account} {currency}: kept balance {stored} but no entries")));
    }
    if let Some((currency, total)) = per_currency.into_iter().find(|(_, total)| !total.is_zero()) {
        return Ok(Some(format!("entries in {currency} sum to {total} instead of 0")));
    }
    if let Some(problem) = paid_out_discrepancy(conn, livemode)? {
        return Ok(Some(problem));
    }
    clearing_discrepancy(conn, livemode)
}

/// Per gateway reconciled in this mode: over the days reconciled, the
/// gateway's clearing accounts (with the dispute holds of its payments,
/// money the ledger knows the gateway took back) must have moved exactly
/// as the gateway's lines did, less the differences an admin explained
/// (accepted ones have their journal in the clearing account). With every
/// payout to the bank booked from its line, what remains in clearing is
/// what the gateway settled and has not paid out yet.
const CLEARING_AGAINST_LINES: &str = "WITH span AS (
    SELECT min(period_since) AS since, max(period_until) AS until FROM settlement_runs
     WHERE gateway = $1 AND livemode = $2 AND step = 'done'
), adjustments AS (
    SELECT journal_id FROM settlement_discrepancies
     WHERE gateway = $1 AND livemode = $2 AND journal_id IS NOT NULL
), ledger AS (
    SELECT j.currency, sum(e.amount_minor) AS moved
      FROM span, ledger_journals j JOIN ledger_entries e ON e.journal_id = j.id
      LEFT JOIN payments p ON p.id = j.payment_id
     WHERE j.livemode = $2
       AND ((j.kind <> 'settlement_adjustment' AND j.posted_at >= span.since AND j.posted_at < span.until
             AND (e.account IN ($3, $4)
                  OR (e.account = 'dispute_holds' AND p.payment_method = $5
                      AND j.kind IN ('dispute_hold', 'dispute_release', 'dispute_loss'))))
            OR (j.id IN (SELECT journal_id FROM adjustments) AND e.account = $3))
     GROUP BY 1
), lines AS (
    SELECT l.currency, sum(l.net_minor) AS moved
      FROM span, settlement_lines l
     WHERE l.gateway = $1 AND l.livemode = $2 AND l.created_at >= span.since AND l.created_at < span.until
     GROUP BY 1
), explained AS (
    SELECT currency, sum(difference_minor) AS moved FROM settlement_discrepancies
     WHERE gateway = $1 AND livemode = $2 AND status = 'explained'
     GROUP BY 1
)
SELECT currency, coalesce(ledger.moved, 0)::numeric AS ledger_moved,
       (coalesce(lines.moved, 0) - coalesce(explained.moved, 0))::numeric AS lines_moved,
       (SELECT since FROM span) AS since, (SELECT until FROM span) AS until
  FROM ledger FULL JOIN lines USING (currency) FULL JOIN explained USING (currency)
 WHERE (SELECT until FROM span) IS NOT NULL
   AND coalesce(ledger.moved, 0) <> coalesce(lines.moved, 0) - coalesce(explained.moved, 0)
 ORDER BY currency LIMIT 1";

fn clearing_discrepancy(conn: &mut PgConnection, livemode: bool) -> QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct Mismatch {
        #[diesel(sql_type = diesel::sql_types::Text)]
        currency: String,
        #[diesel(sql_type = diesel::sql_types::Numeric)]
        ledger_moved: Decimal,
        #[diesel(sql_type = diesel::sql_types::Numeric)]
        lines_moved: Decimal,
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        since: chrono::DateTime<chrono::Utc>,
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        until: chrono::DateTime<chrono::Utc>,
    }
    for gateway in SettledGateway::ALL {
        let [clearing, funds] = gateway.clearing_accounts();
        let mismatch: Option<Mismatch> = diesel::sql_query(CLEARING_AGAINST_LINES)
            .bind::<diesel::sql_types::Text, _>(gateway.as_str())
            .bind::<diesel::sql_types::Bool, _>(livemode)
            .bind::<diesel::sql_types::Text, _>(clearing.code())
            .bind::<diesel::sql_types::Text, _>(funds.code())
            .bind::<diesel::sql_types::Text, _>(gateway.payment_method().as_str())
            .get_result(conn)
            .optional()?;
        if let Some(m) = mismatch {
            let major = |minor: Decimal| {
                let minor = i64::try_from(minor).unwrap_or(i64::MAX);
                domain::money::Currency::from_code(&m.currency).map_or_else(
                    |_| minor.to_string(),
                    |c| domain::money::Money::from_minor(minor, c).to_major_string(),
                )
            };
            return Ok(Some(format!(
                "{} clearing {}: from {} to {} the ledger moved {}, the gateway's lines {} (difference {})",
                gateway.as_str(),
                m.currency,
                m.since.date_naive(),
                m.until.date_naive(),
                major(m.ledger_moved),
                major(m.lines_moved),
                major(m.ledger_moved - m.lines_moved),
            )));
        }
    }
    Ok(None)
}

/// The first instructor and currency of the mode whose kept amount paid
/// out differs from the sum of their paid payouts.
fn paid_out_discrepancy(conn: &mut PgConnection, livemode: bool) -> QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct Mismatch {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        instructor_id: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        currency: String,
        #[diesel(sql_type = diesel::sql_types::Numeric)]
        kept: Decimal,
        #[diesel(sql_type = diesel::sql_types::Numeric)]
        paid: Decimal,
    }
    let mismatch: Option<Mismatch> = diesel::sql_query(
        "SELECT instructor_id, currency, coalesce(k.paid_minor, 0)::numeric AS kept,
                coalesce(p.paid, 0) AS paid
         FROM (SELECT * FROM instructor_paid_out WHERE livemode = $1) k
         FULL JOIN (SELECT instructor_id, currency, sum(amount_minor) AS paid
                    FROM payouts WHERE status = 'paid' AND livemode = $1 GROUP BY 1, 2) p
           USING (instructor_id, currency)
         WHERE coalesce(k.paid_minor, 0) <> coalesce(p.paid, 0)
         ORDER BY instructor_id, currency LIMIT 1",
    )
    .bind::<diesel::sql_types::Bool, _>(livemode)
    .get_result(conn)
    .optional()?;
    Ok(mismatch.map(|m| {
        format!(
            "instructor {} {}: kept paid out {}, paid payouts sum to {}",
            m.instructor_id, m.currency, m.kept, m.paid
        )
    }))
}
