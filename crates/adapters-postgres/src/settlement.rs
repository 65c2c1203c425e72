//! Settlement reconciliation on PostgreSQL (docs/reconciliation.md): runs
//! leased per gateway, mode and period; each gateway line stored once,
//! with the journal of a bank payout written only with a new line; what
//! matching found stored with its outbox events; an admin's resolution
//! with its adjusting journal and audit entry. Each in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Text};
use domain::ids::{DiscrepancyId, SettlementRunId};
use domain::ledger::Journal;
use domain::ports::{
    DiscrepancyQuery, Findings, GatewayBankPayout, LineQuery, LineToStore, ObjectKey, PayoutSummary, ReconciledLine,
    ReconciliationStore, RunClaim, SettlementLine, SettlementPeriod, StoreError,
};
use domain::reconciliation::{Booked, BookedKind, Discrepancy, RunStep, SettledGateway, SettlementRun};
use domain::usecases::Actor;

use crate::audit::decided_by;
use crate::errors::{TxError, store_error};
use crate::ledger::write_journal;
use crate::outbox::insert_events;
use crate::pool::PgStore;
use crate::schema::{settlement_discrepancies as discrepancies, settlement_lines as lines, settlement_runs as runs};

diesel::define_sql_function!(fn greatest(a: diesel::sql_types::Integer, b: diesel::sql_types::Integer) -> diesel::sql_types::Integer);

mod ledger_side;
mod payouts;
mod rows;

use rows::{DiscrepancyRow, LineRow, RunRow};

fn run_filter(
    gateway: SettledGateway,
    livemode: bool,
    period: SettlementPeriod,
) -> runs::BoxedQuery<'static, diesel::pg::Pg> {
    runs::table
        .filter(runs::gateway.eq(gateway.as_str()))
        .filter(runs::livemode.eq(livemode))
        .filter(runs::period_since.eq(period.since()))
        .filter(runs::period_until.eq(period.until()))
        .into_boxed()
}

fn claim(conn: &mut PgConnection, run: &SettlementRun, lease_until: DateTime<Utc>) -> Result<RunClaim, StoreError> {
    let inserted: Option<RunRow> = diesel::insert_into(runs::table)
        .values(RunRow::new(run, lease_until))
        .on_conflict((runs::gateway, runs::livemode, runs::period_since, runs::period_until))
        .do_nothing()
        .returning(RunRow::as_returning())
        .get_result(conn)
        .optional()
        .map_err(store_error)?;
    if let Some(row) = inserted {
        return row.into_domain().map(RunClaim::Claimed);
    }
    let now = run.started_at;
    let stored: RunRow = run_filter(run.gateway, run.livemode, run.period)
        .select(RunRow::as_select())
        .first(conn)
        .map_err(store_error)?;
    let complete = |row: &RunRow| row.finished_at.is_some_and(|at| at >= row.period_until);
    if stored.step == RunStep::Done.as_str() && complete(&stored) {
        return stored.into_domain().map(RunClaim::Done);
    }
    let taken: Option<RunRow> = diesel::sql_query(TAKE_OVER)
        .bind::<diesel::sql_types::Uuid, _>(stored.id)
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .bind::<diesel::sql_types::Timestamptz, _>(lease_until)
        .get_result(conn)
        .optional()
        .map_err(store_error)?;
    match taken {
        Some(row) => row.into_domain().map(RunClaim::Claimed),
        None => stored.into_domain().map(RunClaim::Busy),
    }
}

/// Takes a run over when no one holds it (its lease ran out, or was
/// released by a failure), or runs again a day finished before it was over
/// (its later lines are read then). The lease is checked and renewed in
/// one statement, so two callers cannot both win.
const TAKE_OVER: &str = "\
UPDATE settlement_runs
   SET leased_until = $3, attempts = attempts + 1,
       step = CASE WHEN step = 'done' THEN 'reading' ELSE step END,
       finished_at = CASE WHEN step = 'done' THEN NULL ELSE finished_at END
 WHERE id = $1
   AND ((step <> 'done' AND (leased_until IS NULL OR leased_until < $2))
        OR (step = 'done' AND finished_at < period_until))
RETURNING *";

fn save_lines(
    conn: &mut PgConnection,
    run: SettlementRunId,
    gateway: SettledGateway,
    livemode: bool,
    to_store: &[LineToStore],
    bank_payout: Option<&str>,
) -> Result<i32, TxError<()>> {
    let mut new = 0;
    for item in to_store {
        let mut row = LineRow::new(run, gateway, livemode, &item.line, item.object.as_ref());
        if row.bank_payout.is_none() {
            row.bank_payout = bank_payout.map(str::to_owned);
        }
        let inserted = diesel::insert_into(lines::table).values(&row).on_conflict_do_nothing().execute(conn)?;
        if inserted == 1 {
            new += 1;
            // Only a new line books its money to the bank: a line read
            // again is never booked twice.
            if let Some(journal) = &item.journal {
                write_journal(conn, journal)?;
                diesel::update(lines::table.find((gateway.as_str(), livemode, &item.line.id)))
                    .set(lines::journal_id.eq(journal.id().uuid()))
                    .execute(conn)?;
            }
        } else if let Some(payout) = bank_payout {
            diesel::update(
                lines::table.find((gateway.as_str(), livemode, &item.line.id)).filter(lines::bank_payout.is_null()),
            )
            .set(lines::bank_payout.eq(payout))
            .execute(conn)?;
        }
    }
    Ok(new)
}

fn finish(conn: &mut PgConnection, run: SettlementRunId, findings: &Findings) -> Result<(), TxError<()>> {
    let stored: RunRow = runs::table.find(run.uuid()).select(RunRow::as_select()).first(conn)?;
    let (ids, results): (Vec<&str>, Vec<&str>) =
        findings.line_results.iter().map(|(id, result)| (id.as_str(), *result)).unzip();
    diesel::sql_query(
        "UPDATE settlement_lines l SET result = r.result
           FROM unnest($3::text[], $4::text[]) AS r (id, result)
          WHERE l.gateway = $1 AND l.livemode = $2 AND l.line_id = r.id",
    )
    .bind::<Text, _>(&stored.gateway)
    .bind::<Bool, _>(stored.livemode)
    .bind::<Array<Text>, _>(ids)
    .bind::<Array<Text>, _>(results)
    .execute(conn)?;
    for (discrepancy, event) in &findings.opened {
        let row = DiscrepancyRow::from_domain(discrepancy)?;
        // Another run may have opened one for the same object meanwhile
        // (one open per object): then that one stands, and no event.
        let opened = diesel::insert_into(discrepancies::table).values(&row).on_conflict_do_nothing().execute(conn)?;
        if opened == 1 {
            insert_events(conn, std::slice::from_ref(event))?;
        }
    }
    for discrepancy in &findings.updated {
        let row = DiscrepancyRow::from_domain(discrepancy)?;
        diesel::update(discrepancies::table.find(row.id).filter(discrepancies::status.eq("open")))
            .set((
                discrepancies::run_id.eq(row.run_id),
                discrepancies::result.eq(&row.result),
                discrepancies::currency.eq(&row.currency),
                discrepancies::gateway_amount_minor.eq(row.gateway_amount_minor),
                discrepancies::gateway_fee_minor.eq(row.gateway_fee_minor),
                discrepancies::ledger_amount_minor.eq(row.ledger_amount_minor),
                discrepancies::ledger_fee_minor.eq(row.ledger_fee_minor),
                discrepancies::difference_minor.eq(row.difference_minor),
                discrepancies::updated_at.eq(row.updated_at),
            ))
            .execute(conn)?;
    }
    let cleared: Vec<uuid::Uuid> = findings.cleared.iter().map(DiscrepancyId::uuid).collect();
    diesel::update(
        discrepancies::table.filter(discrepancies::id.eq_any(cleared)).filter(discrepancies::status.eq("open")),
    )
    .set((discrepancies::status.eq("cleared"), discrepancies::updated_at.eq(findings.at)))
    .execute(conn)?;
    diesel::update(runs::table.find(run.uuid()))
        .set((
            runs::step.eq(RunStep::Done.as_str()),
            runs::matched.eq(findings.matched),
            runs::differing.eq(findings.differing),
            runs::finished_at.eq(findings.at),
            runs::leased_until.eq(None::<DateTime<Utc>>),
            runs::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

fn in_transaction<T>(
    conn: &mut PgConnection,
    work: impl FnOnce(&mut PgConnection) -> Result<T, TxError<()>>,
) -> Result<T, StoreError> {
    conn.transaction(work).map_err(|e: TxError<()>| match e.into_result() {
        Ok(()) => StoreError::Corrupt("refused without a reason".to_owned()),
        Err(e) => e,
    })
}

#[async_trait]
impl ReconciliationStore for PgStore {
    async fn claim_run(&self, run: SettlementRun, lease_until: DateTime<Utc>) -> Result<RunClaim, StoreError> {
        self.run(move |conn| claim(conn, &run, lease_until)).await
    }

    async fn save_lines(
        &self,
        run: SettlementRunId,
        gateway: SettledGateway,
        livemode: bool,
        to_store: Vec<LineToStore>,
        bank_payout: Option<String>,
    ) -> Result<i32, StoreError> {
        self.run(move |conn| {
            in_transaction(conn, |conn| save_lines(conn, run, gateway, livemode, &to_store, bank_payout.as_deref()))
        })
        .await
    }

    async fn advance(&self, run: SettlementRunId, step: RunStep, lines_read: i32) -> Result<(), StoreError> {
        self.run(move |conn| {
            diesel::update(runs::table.find(run.uuid()))
                // A day read again (it was not over) has at least the
                // lines it had.
                .set((runs::step.eq(step.as_str()), runs::lines_read.eq(greatest(runs::lines_read, lines_read))))
                .execute(conn)
                .map(|_| ())
                .map_err(store_error)
        })
        .await
    }

    async fn save_payouts(
        &self,
        gateway: SettledGateway,
        livemode: bool,
        payouts: Vec<GatewayBankPayout>,
    ) -> Result<(), StoreError> {
        self.run(move |conn| payouts::save(conn, gateway, livemode, &payouts)).await
    }

    async fn unitemised_payouts(&self, gateway: SettledGateway, livemode: bool) -> Result<Vec<String>, StoreError> {
        self.run(move |conn| payouts::unitemised(conn, gateway, livemode)).await
    }

    async fn mark_itemised(&self, gateway: SettledGateway, livemode: bool, payout: String) -> Result<(), StoreError> {
        self.run(move |conn| payouts::mark_itemised(conn, gateway, livemode, &payout)).await
    }

    async fn run_objects(&self, run: SettlementRunId) -> Result<Vec<ObjectKey>, StoreError> {
        self.run(move |conn| {
            let rows: Vec<(Option<String>, Option<String>)> = lines::table
                .filter(lines::run_id.eq(run.uuid()))
                .filter(lines::object_kind.is_not_null())
                .select((lines::object_kind, lines::object_id))
                .distinct()
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter()
                .filter_map(|(kind, id)| kind.zip(id))
                .map(|(kind, id)| {
                    kind.parse::<BookedKind>().map(|k| (k, id)).map_err(|_| crate::errors::corrupt("object kind"))
                })
                .collect()
        })
        .await
    }

    async fn active_objects(
        &self,
        gateway: SettledGateway,
        livemode: bool,
        period: SettlementPeriod,
    ) -> Result<Vec<ObjectKey>, StoreError> {
        self.run(move |conn| ledger_side::active_objects(conn, gateway, livemode, period)).await
    }

    async fn object_lines(
        &self,
        gateway: SettledGateway,
        livemode: bool,
        objects: Vec<ObjectKey>,
    ) -> Result<Vec<SettlementLine>, StoreError> {
        self.run(move |conn| {
            let (kinds, ids): (Vec<&str>, Vec<&str>) = objects.iter().map(|(k, id)| (k.as_str(), id.as_str())).unzip();
            let rows: Vec<LineRow> = diesel::sql_query(
                "SELECT l.* FROM settlement_lines l
                   JOIN unnest($3::text[], $4::text[]) AS o (kind, id) ON l.object_kind = o.kind AND l.object_id = o.id
                  WHERE l.gateway = $1 AND l.livemode = $2
                  ORDER BY l.created_at, l.line_id",
            )
            .bind::<Text, _>(gateway.as_str())
            .bind::<Bool, _>(livemode)
            .bind::<Array<Text>, _>(kinds)
            .bind::<Array<Text>, _>(ids)
            .load(conn)
            .map_err(store_error)?;
            rows.iter().map(LineRow::line).collect()
        })
        .await
    }

    async fn unexplained_lines(&self, run: SettlementRunId) -> Result<Vec<SettlementLine>, StoreError> {
        self.run(move |conn| {
            let rows: Vec<LineRow> = lines::table
                .filter(lines::run_id.eq(run.uuid()))
                .filter(lines::object_kind.is_null())
                .filter(lines::kind.ne_all(["bank_payout", "bank_payout_reversal"]))
                .order((lines::created_at, lines::line_id))
                .select(LineRow::as_select())
                .load(conn)
                .map_err(store_error)?;
            rows.iter().map(LineRow::line).collect()
        })
        .await
    }

    async fn booked(
        &self,
        gateway: SettledGateway,
        livemode: bool,
        objects: Vec<ObjectKey>,
    ) -> Result<Vec<Booked>, StoreError> {
        self.run(move |conn| ledger_side::booked(conn, gateway, livemode, &objects)).await
    }

    async fn latest_discrepancies(
        &self,
        gateway: SettledGateway,
        livemode: bool,
        objects: Vec<(Option<BookedKind>, String)>,
    ) -> Result<Vec<Discrepancy>, StoreError> {
        self.run(move |conn| {
            let (kinds, ids): (Vec<&str>, Vec<&str>) =
                objects.iter().map(|(k, id)| (k.map_or("line", |k| k.as_str()), id.as_str())).unzip();
            let rows: Vec<DiscrepancyRow> = diesel::sql_query(
                "SELECT DISTINCT ON (coalesce(d.object_kind, 'line'), d.object_id) d.*
                   FROM settlement_discrepancies d
                   JOIN unnest($3::text[], $4::text[]) AS o (kind, id)
                     ON coalesce(d.object_kind, 'line') = o.kind AND d.object_id = o.id
                  WHERE d.gateway = $1 AND d.livemode = $2
                  ORDER BY coalesce(d.object_kind, 'line'), d.object_id, d.opened_at DESC, d.id DESC",
            )
            .bind::<Text, _>(gateway.as_str())
            .bind::<Bool, _>(livemode)
            .bind::<Array<Text>, _>(kinds)
            .bind::<Array<Text>, _>(ids)
            .load(conn)
            .map_err(store_error)?;
            rows.into_iter().map(DiscrepancyRow::into_domain).collect()
        })
        .await
    }

    async fn finish_run(&self, run: SettlementRunId, findings: Findings) -> Result<(), StoreError> {
        self.run(move |conn| in_transaction(conn, |conn| finish(conn, run, &findings))).await
    }

    async fn fail_run(&self, run: SettlementRunId, error: String) -> Result<(), StoreError> {
        let error: String = error.chars().take(1000).collect();
        self.run(move |conn| {
            diesel::update(runs::table.find(run.uuid()))
                .set((runs::last_error.eq(error), runs::leased_until.eq(None::<DateTime<Utc>>)))
                .execute(conn)
                .map(|_| ())
                .map_err(store_error)
        })
        .await
    }

    async fn find_run(&self, id: SettlementRunId) -> Result<Option<SettlementRun>, StoreError> {
        self.run(move |conn| {
            runs::table
                .find(id.uuid())
                .select(RunRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(RunRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn list_runs(
        &self,
        gateway: Option<SettledGateway>,
        livemode: Option<bool>,
        limit: u32,
    ) -> Result<Vec<SettlementRun>, StoreError> {
        self.run(move |conn| {
            let mut query = runs::table.select(RunRow::as_select()).into_boxed();
            if let Some(gateway) = gateway {
                query = query.filter(runs::gateway.eq(gateway.as_str()));
            }
            if let Some(livemode) = livemode {
                query = query.filter(runs::livemode.eq(livemode));
            }
            let rows: Vec<RunRow> = query
                .order((runs::period_since.desc(), runs::gateway, runs::livemode.desc()))
                .limit(i64::from(limit))
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter().map(RunRow::into_domain).collect()
        })
        .await
    }

    async fn reconciled_until(
        &self,
        gateway: SettledGateway,
        livemode: bool,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.run(move |conn| {
            runs::table
                .filter(runs::gateway.eq(gateway.as_str()))
                .filter(runs::livemode.eq(livemode))
                .filter(runs::step.eq(RunStep::Done.as_str()))
                // A day finished before it was over is run again.
                .filter(runs::finished_at.ge(runs::period_until.nullable()))
                .select(diesel::dsl::max(runs::period_until))
                .first(conn)
                .map_err(store_error)
        })
        .await
    }

    async fn stalled_runs(&self, now: DateTime<Utc>) -> Result<Vec<SettlementRun>, StoreError> {
        self.run(move |conn| {
            let rows: Vec<RunRow> = runs::table
                .filter(runs::step.ne(RunStep::Done.as_str()))
                .filter(runs::leased_until.is_null().or(runs::leased_until.lt(now)))
                .order(runs::period_since)
                .select(RunRow::as_select())
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter().map(RunRow::into_domain).collect()
        })
        .await
    }

    async fn list_lines(&self, query: LineQuery) -> Result<Vec<ReconciledLine>, StoreError> {
        self.run(move |conn| {
            let mut q = lines::table.select(LineRow::as_select()).into_boxed();
            if let Some(gateway) = query.gateway {
                q = q.filter(lines::gateway.eq(gateway.as_str()));
            }
            if let Some(livemode) = query.livemode {
                q = q.filter(lines::livemode.eq(livemode));
            }
            if let Some(run) = query.run_id {
                q = q.filter(lines::run_id.eq(run.uuid()));
            }
            if let Some(result) = query.result {
                q = q.filter(lines::result.eq(result));
            }
            if let Some(kind) = query.kind {
                q = q.filter(lines::kind.eq(kind));
            }
            if let Some(payout) = query.payout {
                q = q.filter(lines::bank_payout.eq(payout));
            }
            if let Some(since) = query.since {
                q = q.filter(lines::created_at.ge(since));
            }
            if let Some(until) = query.until {
                q = q.filter(lines::created_at.lt(until));
            }
            if let Some((at, id)) = query.after {
                q = q.filter(lines::created_at.gt(at).or(lines::created_at.eq(at).and(lines::line_id.gt(id))));
            }
            let rows: Vec<LineRow> = q
                .order((lines::created_at, lines::line_id))
                .limit(i64::from(query.limit))
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter().map(LineRow::into_reconciled).collect()
        })
        .await
    }

    async fn payout_summaries(
        &self,
        gateway: Option<SettledGateway>,
        livemode: Option<bool>,
        limit: u32,
    ) -> Result<Vec<PayoutSummary>, StoreError> {
        self.run(move |conn| payouts::summaries(conn, gateway, livemode, limit)).await
    }

    async fn find_discrepancy(&self, id: DiscrepancyId) -> Result<Option<Discrepancy>, StoreError> {
        self.run(move |conn| {
            discrepancies::table
                .find(id.uuid())
                .select(DiscrepancyRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(DiscrepancyRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn list_discrepancies(&self, query: DiscrepancyQuery) -> Result<Vec<Discrepancy>, StoreError> {
        self.run(move |conn| {
            let mut q = discrepancies::table.select(DiscrepancyRow::as_select()).into_boxed();
            if let Some(gateway) = query.gateway {
                q = q.filter(discrepancies::gateway.eq(gateway.as_str()));
            }
            if let Some(livemode) = query.livemode {
                q = q.filter(discrepancies::livemode.eq(livemode));
            }
            if let Some(status) = query.status {
                q = q.filter(discrepancies::status.eq(status.as_str()));
            }
            if let Some(run) = query.run_id {
                q = q.filter(discrepancies::run_id.eq(run.uuid()));
            }
            let rows: Vec<DiscrepancyRow> = q
                .order((discrepancies::opened_at.desc(), discrepancies::id.desc()))
                .limit(i64::from(query.limit))
                .load(conn)
                .map_err(store_error)?;
            rows.into_iter().map(DiscrepancyRow::into_domain).collect()
        })
        .await
    }

    async fn resolve(&self, resolved: Discrepancy, journal: Option<Journal>, by: Actor) -> Result<bool, StoreError> {
        self.run(move |conn| {
            let row = DiscrepancyRow::from_domain(&resolved)?;
            let result = conn.transaction::<(), TxError<()>, _>(|conn| {
                decided_by(conn, Some(by))?;
                if let Some(journal) = &journal {
                    write_journal(conn, journal)?;
                }
                let changed =
                    diesel::update(discrepancies::table.find(row.id).filter(discrepancies::status.eq("open")))
                        .set((
                            discrepancies::status.eq(&row.status),
                            discrepancies::reason.eq(&row.reason),
                            discrepancies::resolved_by.eq(row.resolved_by),
                            discrepancies::resolved_at.eq(row.resolved_at),
                            discrepancies::journal_id.eq(row.journal_id),
                            discrepancies::updated_at.eq(row.updated_at),
                        ))
                        .execute(conn)?;
                if changed == 0 { Err(TxError::Refused(())) } else { Ok(()) }
            });
            match result {
                Ok(()) => Ok(true),
                Err(e) => e.into_result().map(|()| false),
            }
        })
        .await
    }
}
