//! Settlement reconciliation runs (docs/reconciliation.md): read what a
//! gateway booked for a period, store each line once (a payout to the
//! bank with its journal), compare every object the period touched with
//! what the ledger booked, and record what differs for an admin, who
//! resolves it. Nothing here corrects the ledger on its own.
//!
//! A run is one gateway, one mode, one UTC day. It is leased while it
//! works, so two instances never run one day at once, and it records its
//! step, so a run interrupted half way resumes where it stopped; every
//! write is idempotent, so a day run again books nothing twice.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::actor::admin_text;
use crate::ids::{DiscrepancyId, EventId, JournalId, SettlementRunId};
use crate::ledger::LedgerError;
use crate::outbox::{EventType, OutboxEvent};
use crate::payment::PaymentMethod;
use crate::ports::{
    Clock, DiscrepancyQuery, Findings, GatewayError, Gateways, IdGenerator, LineQuery, LineToStore, PayoutContents,
    PayoutSummary, ReconciledLine, ReconciliationStore, RunClaim, SettlementGateway, SettlementKind, SettlementLine,
    SettlementPeriod, StoreError,
};
use crate::reconciliation::{
    BookedKind, Discrepancy, DiscrepancyStatus, LineKey, LineResult, Matched, Resolution, RunStep, SettledGateway,
    SettlementRun, adjustment_journal, bank_payout_journal, days_between, key_of, match_lines,
};
use crate::usecases::{Actor, Forbidden};

/// Longest reason an admin may give.
pub const MAX_REASON_CHARS: usize = 1000;
/// Days one scheduled pass catches up at most per gateway.
const CATCH_UP_DAYS: usize = 31;

/// Why a run could not be done.
#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    /// No gateway serving this method reports its books.
    #[error("{0:?} does not report its books here")]
    NotReconciled(SettledGateway),
    /// The gateway could not be read.
    #[error("reading the gateway's books failed: {0}")]
    Gateway(#[from] GatewayError),
    /// A bank payout line could not be booked.
    #[error("a bank payout journal could not be built: {0}")]
    Ledger(#[from] LedgerError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a discrepancy could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Admins only.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such discrepancy.
    #[error("not found")]
    NotFound,
    /// It is resolved (or cleared) already.
    #[error("the discrepancy is {0:?}, not open")]
    NotOpen(DiscrepancyStatus),
    /// A reason is required: 1 to 1000 characters of text.
    #[error("a reason of 1 to {MAX_REASON_CHARS} characters is required")]
    InvalidReason,
    /// The adjusting journal cannot be built.
    #[error("the adjusting journal cannot be built: {0}")]
    Ledger(#[from] LedgerError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How asking for a day went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// It ran to the end now.
    Finished(SettlementRun),
    /// It had finished before: nothing was done.
    AlreadyDone(SettlementRun),
    /// Another instance is running it now.
    Busy(SettlementRun),
}

impl RunOutcome {
    /// The run.
    pub fn run(&self) -> &SettlementRun {
        match self {
            RunOutcome::Finished(run) | RunOutcome::AlreadyDone(run) | RunOutcome::Busy(run) => run,
        }
    }
}

/// What one scheduled pass did.
#[derive(Debug, Default)]
pub struct ScheduledReport {
    /// Days run (or found done, or busy).
    pub outcomes: Vec<RunOutcome>,
    /// Days that failed (they resume on the next pass), with why.
    pub failed: Vec<(SettledGateway, SettlementPeriod, String)>,
}

/// Runs settlement reconciliation and resolves what it finds.
#[derive(Clone)]
pub struct SettlementService {
    store: Arc<dyn ReconciliationStore>,
    gateways: Gateways,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    lease: Duration,
}

impl SettlementService {
    /// A service reading the gateways `gateways` serves.
    pub fn new(
        store: Arc<dyn ReconciliationStore>,
        gateways: Gateways,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self { store, gateways, clock, ids, lease: Duration::minutes(10) }
    }

    /// How long a run is held before another instance may take it over.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The gateways whose books can be read now, with their mode.
    pub fn reconciled(&self) -> Vec<(SettledGateway, bool)> {
        SettledGateway::ALL
            .into_iter()
            .filter_map(|g| self.gateways.settlement(g.payment_method()).map(|(mode, _)| (g, mode.is_live())))
            .collect()
    }

    /// Reconciles each UTC day from `since`'s to the one before `until`'s,
    /// in order, stopping at the first that fails.
    pub async fn reconcile_days(
        &self,
        gateway: SettledGateway,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<RunOutcome>, SettlementError> {
        let mut outcomes = Vec::new();
        for day in days_between(since, until) {
            outcomes.push(self.run(gateway, day).await?);
        }
        Ok(outcomes)
    }

    /// The scheduled pass: for each gateway that reports its books, every
    /// whole day since the last one reconciled (yesterday, the first
    /// time), at most a month at once; then any run left unfinished.
    pub async fn reconcile_due(&self) -> Result<ScheduledReport, StoreError> {
        let now = self.clock.now();
        let today = now.duration_trunc(Duration::days(1)).unwrap_or(now);
        let mut report = ScheduledReport::default();
        for (gateway, livemode) in self.reconciled() {
            let since = self.store.reconciled_until(gateway, livemode).await?.unwrap_or(today - Duration::days(1));
            for day in days_between(since, today).into_iter().take(CATCH_UP_DAYS) {
                // A gateway that fails once is left for the next pass (its
                // breaker then answers at once) rather than asked for every
                // day behind.
                if !self.run_into(gateway, day, &mut report).await {
                    break;
                }
            }
        }
        for stalled in self.store.stalled_runs(now).await? {
            if self.reconciled().contains(&(stalled.gateway, stalled.livemode)) {
                self.run_into(stalled.gateway, stalled.period, &mut report).await;
            }
        }
        Ok(report)
    }

    /// Runs one day into `report`; `false` when it failed.
    async fn run_into(&self, gateway: SettledGateway, day: SettlementPeriod, report: &mut ScheduledReport) -> bool {
        match self.run(gateway, day).await {
            Ok(outcome) => {
                report.outcomes.push(outcome);
                true
            }
            Err(e) => {
                report.failed.push((gateway, day, e.to_string()));
                false
            }
        }
    }

    /// Reconciles one period of `gateway`'s books in the mode it is served
    /// in: a new run, the resumption of one interrupted, or nothing when
    /// the period is done or held by another instance.
    pub async fn run(&self, gateway: SettledGateway, period: SettlementPeriod) -> Result<RunOutcome, SettlementError> {
        let (mode, books) =
            self.gateways.settlement(gateway.payment_method()).ok_or(SettlementError::NotReconciled(gateway))?;
        let now = self.clock.now();
        let fresh = SettlementRun {
            id: SettlementRunId::from_uuid(self.ids.new_id()),
            gateway,
            livemode: mode.is_live(),
            period,
            step: RunStep::Reading,
            attempts: 0,
            lines_read: 0,
            matched: 0,
            differing: 0,
            last_error: None,
            started_at: now,
            finished_at: None,
        };
        let run = match self.store.claim_run(fresh, now + self.lease).await? {
            RunClaim::Claimed(run) => run,
            RunClaim::Busy(run) => return Ok(RunOutcome::Busy(run)),
            RunClaim::Done(run) => return Ok(RunOutcome::AlreadyDone(run)),
        };
        if let Err(e) = self.carry_on(&run, books.as_ref()).await {
            self.store.fail_run(run.id, e.to_string()).await?;
            return Err(e);
        }
        let finished = self.store.find_run(run.id).await?.ok_or_else(|| StoreError::Corrupt("run vanished".into()))?;
        Ok(RunOutcome::Finished(finished))
    }

    async fn carry_on(&self, run: &SettlementRun, books: &dyn SettlementGateway) -> Result<(), SettlementError> {
        if run.step <= RunStep::Reading {
            let lines = books.lines(run.period).await?;
            let read = i32::try_from(lines.len()).unwrap_or(i32::MAX);
            let to_store = self.to_store(run, lines)?;
            self.store.save_lines(run.id, run.gateway, run.livemode, to_store, None).await?;
            self.store.advance(run.id, RunStep::Payouts, read).await?;
        }
        if run.step <= RunStep::Payouts {
            self.read_payouts(run, books).await?;
            self.store.advance(run.id, RunStep::Matching, 0).await?;
        }
        let findings = self.compare(run).await?;
        self.store.finish_run(run.id, findings).await?;
        Ok(())
    }

    /// Stores the period's payouts, then asks which lines each payout not
    /// yet itemised paid out (from this period or an earlier one).
    async fn read_payouts(&self, run: &SettlementRun, books: &dyn SettlementGateway) -> Result<(), SettlementError> {
        let payouts = books.payouts(run.period).await?;
        self.store.save_payouts(run.gateway, run.livemode, payouts).await?;
        for payout in self.store.unitemised_payouts(run.gateway, run.livemode).await? {
            match books.payout_lines(&payout).await? {
                PayoutContents::Itemised(lines) => {
                    let to_store = self.to_store(run, lines)?;
                    self.store.save_lines(run.id, run.gateway, run.livemode, to_store, Some(payout.clone())).await?;
                    self.store.mark_itemised(run.gateway, run.livemode, payout).await?;
                }
                // Nothing more will be learnt of it: its lines are
                // reconciled by period.
                PayoutContents::NotItemised => self.store.mark_itemised(run.gateway, run.livemode, payout).await?,
                PayoutContents::NotYet => {}
            }
        }
        Ok(())
    }

    fn to_store(&self, run: &SettlementRun, lines: Vec<SettlementLine>) -> Result<Vec<LineToStore>, LedgerError> {
        lines
            .into_iter()
            .map(|mut line| {
                // A payout's own line belongs to it, itemised or not.
                if line.kind == SettlementKind::BankPayout && line.payout.is_none() {
                    line.payout.clone_from(&line.source);
                }
                let journal =
                    bank_payout_journal(JournalId::from_uuid(self.ids.new_id()), run.gateway, run.livemode, &line)?;
                let object = match key_of(&line) {
                    LineKey::Object(kind, id) => Some((kind, id)),
                    LineKey::Unexplained | LineKey::NotAnObject => None,
                };
                Ok(LineToStore { line, object, journal })
            })
            .collect()
    }

    /// Compares every object the run's lines book, and every object the
    /// ledger moved money for in the period, over all their stored lines
    /// (an object's lines may span periods: a dispute won a month later).
    async fn compare(&self, run: &SettlementRun) -> Result<Findings, SettlementError> {
        let (gateway, livemode) = (run.gateway, run.livemode);
        let mut objects = self.store.run_objects(run.id).await?;
        objects.extend(self.store.active_objects(gateway, livemode, run.period).await?);
        objects.sort();
        objects.dedup();
        let mut lines = self.store.object_lines(gateway, livemode, objects.clone()).await?;
        lines.extend(self.store.unexplained_lines(run.id).await?);
        let booked = self.store.booked(gateway, livemode, objects).await?;
        let results = match_lines(&lines, &booked);
        let keys = results.iter().map(finding_key).collect();
        let latest: HashMap<(Option<BookedKind>, String), Discrepancy> = self
            .store
            .latest_discrepancies(gateway, livemode, keys)
            .await?
            .into_iter()
            .map(|d| ((d.object_kind, d.object_id.clone()), d))
            .collect();
        let at = self.clock.now();
        let mut findings = Findings {
            line_results: Vec::new(),
            opened: Vec::new(),
            updated: Vec::new(),
            cleared: Vec::new(),
            matched: 0,
            differing: 0,
            at,
        };
        for found in results {
            findings.line_results.extend(found.lines.iter().map(|id| (id.clone(), found.result.as_str())));
            let known = latest.get(&finding_key(&found));
            if found.result == LineResult::Matched {
                findings.matched += 1;
                if let Some(open) = known.filter(|d| d.status == DiscrepancyStatus::Open) {
                    findings.cleared.push(open.id);
                }
                continue;
            }
            findings.differing += 1;
            match known {
                Some(d) if d.same_figures(&found.gateway, &found.ledger) && d.status != DiscrepancyStatus::Cleared => {}
                Some(d) if d.status == DiscrepancyStatus::Open => findings.updated.push(Discrepancy {
                    run_id: run.id,
                    result: found.result.clone(),
                    gateway_figures: found.gateway,
                    ledger_figures: found.ledger,
                    updated_at: at,
                    ..d.clone()
                }),
                _ => {
                    let discrepancy = self.new_discrepancy(run, &found, at);
                    let event = OutboxEvent::new(
                        EventId::from_uuid(self.ids.new_id()),
                        EventType::ReconciliationDiscrepancy,
                        discrepancy.clone(),
                        at,
                    );
                    findings.opened.push((discrepancy, event));
                }
            }
        }
        Ok(findings)
    }

    fn new_discrepancy(&self, run: &SettlementRun, found: &Matched, at: DateTime<Utc>) -> Discrepancy {
        let (object_kind, object_id) = finding_key(found);
        Discrepancy {
            id: DiscrepancyId::from_uuid(self.ids.new_id()),
            gateway: run.gateway,
            livemode: run.livemode,
            run_id: run.id,
            object_kind,
            object_id,
            result: found.result.clone(),
            gateway_figures: found.gateway,
            ledger_figures: found.ledger,
            status: DiscrepancyStatus::Open,
            reason: None,
            resolved_by: None,
            resolved_at: None,
            journal_id: None,
            opened_at: at,
            updated_at: at,
        }
    }

    /// Records where a payout of `method`'s gateway balance to the bank
    /// stands, as the gateway reports it now (after its event); the daily
    /// run reads which lines it paid out. Nothing for a gateway whose books
    /// are not read here.
    pub async fn follow_bank_payout(&self, method: PaymentMethod, payout_id: &str) -> Result<(), SettlementError> {
        let Some(gateway) = SettledGateway::of_method(method) else {
            return Ok(());
        };
        let Some((mode, books)) = self.gateways.settlement(method) else {
            return Ok(());
        };
        let payout = books.payout(payout_id).await?;
        self.store.save_payouts(gateway, mode.is_live(), vec![payout]).await?;
        Ok(())
    }

    /// An admin resolves an open discrepancy: accepting the gateway's
    /// figure books the difference in an adjusting journal; explaining it
    /// leaves the ledger as it is. Either way with a reason, audited.
    pub async fn resolve(
        &self,
        actor: Actor,
        id: DiscrepancyId,
        resolution: Resolution,
    ) -> Result<Discrepancy, ResolveError> {
        actor.require_admin()?;
        let (reason, accept) = match &resolution {
            Resolution::Accept { reason } => (reason, true),
            Resolution::Explain { reason } => (reason, false),
        };
        let reason = admin_text(reason, MAX_REASON_CHARS).ok_or(ResolveError::InvalidReason)?;
        let found = self.store.find_discrepancy(id).await?.ok_or(ResolveError::NotFound)?;
        if found.status != DiscrepancyStatus::Open {
            return Err(ResolveError::NotOpen(found.status));
        }
        let at = self.clock.now();
        let journal =
            accept.then(|| adjustment_journal(JournalId::from_uuid(self.ids.new_id()), &found, at)).transpose()?;
        let resolved = Discrepancy {
            status: if accept { DiscrepancyStatus::Adjusted } else { DiscrepancyStatus::Explained },
            reason: Some(reason),
            resolved_by: Some(actor.user_id),
            resolved_at: Some(at),
            journal_id: journal.as_ref().map(|j| j.id()),
            updated_at: at,
            ..found
        };
        if !self.store.resolve(resolved.clone(), journal, actor).await? {
            let now = self.store.find_discrepancy(id).await?.ok_or(ResolveError::NotFound)?;
            return Err(ResolveError::NotOpen(now.status));
        }
        Ok(resolved)
    }
}

/// Reading what reconciliation found (admins only).
impl SettlementService {
    /// Runs, newest day first.
    pub async fn runs(
        &self,
        actor: Actor,
        gateway: Option<SettledGateway>,
        livemode: Option<bool>,
        limit: u32,
    ) -> Result<Vec<SettlementRun>, ReadError> {
        actor.require_admin()?;
        Ok(self.store.list_runs(gateway, livemode, limit).await?)
    }

    /// Stored gateway lines.
    pub async fn lines(&self, actor: Actor, query: LineQuery) -> Result<Vec<ReconciledLine>, ReadError> {
        actor.require_admin()?;
        Ok(self.store.list_lines(query).await?)
    }

    /// Payouts to the bank with their lines summed, newest first.
    pub async fn payouts(
        &self,
        actor: Actor,
        gateway: Option<SettledGateway>,
        livemode: Option<bool>,
        limit: u32,
    ) -> Result<Vec<PayoutSummary>, ReadError> {
        actor.require_admin()?;
        Ok(self.store.payout_summaries(gateway, livemode, limit).await?)
    }

    /// Discrepancies, newest first.
    pub async fn discrepancies(&self, actor: Actor, query: DiscrepancyQuery) -> Result<Vec<Discrepancy>, ReadError> {
        actor.require_admin()?;
        Ok(self.store.list_discrepancies(query).await?)
    }

    /// One discrepancy.
    pub async fn discrepancy(&self, actor: Actor, id: DiscrepancyId) -> Result<Discrepancy, ReadError> {
        actor.require_admin()?;
        self.store.find_discrepancy(id).await?.ok_or(ReadError::NotFound)
    }
}

/// Why reading failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Admins only.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such thing.
    #[error("not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The object a finding is about, or the line nothing explains.
fn finding_key(found: &Matched) -> (Option<BookedKind>, String) {
    match &found.key {
        Some((kind, id)) => (Some(*kind), id.clone()),
        None => (None, found.lines.first().cloned().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::gateway_config::GatewayMode;
    use crate::ports::{
        GatewayDescriptor, MockClock, MockPaymentGateway, MockReconciliationStore, MockSettlementGateway,
        TimeOrderedIds,
    };

    fn service(store: MockReconciliationStore, books: MockSettlementGateway) -> SettlementService {
        let mut payments = MockPaymentGateway::new();
        payments.expect_method().return_const(PaymentMethod::Stripe);
        let stripe = GatewayDescriptor::new(GatewayMode::Live, Arc::new(payments)).settlement(Arc::new(books));
        let mut clock = MockClock::new();
        clock.expect_now().return_const(Utc.with_ymd_and_hms(2026, 12, 7, 9, 30, 0).unwrap());
        SettlementService::new(
            Arc::new(store),
            Gateways::new().register(stripe),
            Arc::new(clock),
            Arc::new(TimeOrderedIds),
        )
    }

    #[test]
    fn the_scheduled_pass_catches_up_from_the_last_complete_day_and_stops_at_a_failing_gateway() {
        let mut store = MockReconciliationStore::new();
        let last = Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap();
        store.expect_reconciled_until().returning(move |_, livemode| {
            assert!(livemode, "a live gateway's books are live money");
            Ok(Some(last))
        });
        store.expect_claim_run().times(1).returning(|run, _| {
            assert_eq!(run.period.since(), Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap());
            Ok(RunClaim::Claimed(run))
        });
        store.expect_fail_run().times(1).returning(|_, error| {
            assert!(error.contains("reading the gateway's books failed"), "{error}");
            Ok(())
        });
        store.expect_stalled_runs().returning(|_| Ok(Vec::new()));
        let mut books = MockSettlementGateway::new();
        books.expect_lines().times(1).returning(|_| Err(GatewayError::Unavailable("down".to_owned())));

        let report = futures::executor::block_on(service(store, books).reconcile_due()).unwrap();

        assert!(report.outcomes.is_empty());
        assert_eq!(report.failed.len(), 1, "four days are due; the first fails and the rest wait: {report:?}");
    }
}
