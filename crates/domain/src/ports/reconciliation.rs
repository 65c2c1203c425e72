//! Storage of settlement reconciliation (docs/reconciliation.md): runs,
//! the gateway lines they read, the bank payouts, and the discrepancies
//! found, each change committed whole (lines with their bank payout
//! journals, findings with their outbox events, a resolution with its
//! adjusting journal and audit entry).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{GatewayBankPayout, SettlementLine, SettlementPeriod, StoreError};
use crate::actor::Actor;
use crate::ids::{DiscrepancyId, SettlementRunId};
use crate::ledger::Journal;
use crate::outbox::OutboxEvent;
use crate::reconciliation::{
    Booked, BookedKind, Discrepancy, DiscrepancyStatus, RunStep, SettledGateway, SettlementRun,
};

/// An object a gateway line books, by kind and the gateway's id.
pub type ObjectKey = (BookedKind, String);

/// What asking for a run's period got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunClaim {
    /// This caller runs it (new, or resumed where it stopped), leased.
    Claimed(SettlementRun),
    /// Another caller holds it now.
    Busy(SettlementRun),
    /// It is finished already.
    Done(SettlementRun),
}

/// A line to store, with the journal of its money going to or coming
/// from the bank, if it is such a line. The journal is written only if
/// the line is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineToStore {
    /// The line.
    pub line: SettlementLine,
    /// The object it books, if any.
    pub object: Option<ObjectKey>,
    /// Its bank payout journal.
    pub journal: Option<Journal>,
}

/// A stored line, with what reconciliation made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciledLine {
    /// Whose books.
    pub gateway: SettledGateway,
    /// Live money or test money.
    pub livemode: bool,
    /// The line as the gateway booked it.
    pub line: SettlementLine,
    /// The run that first read it.
    pub run_id: SettlementRunId,
    /// The object it books.
    pub object: Option<ObjectKey>,
    /// Its object's latest result (`matched`, `fee_differs`, ...).
    pub result: Option<String>,
}

/// What matching a run's objects found, to store at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Findings {
    /// Each line's result, by line id.
    pub line_results: Vec<(String, &'static str)>,
    /// Discrepancies found now, with the event announcing each.
    pub opened: Vec<(Discrepancy, OutboxEvent)>,
    /// Open discrepancies whose figures changed.
    pub updated: Vec<Discrepancy>,
    /// Open discrepancies whose object now agrees.
    pub cleared: Vec<DiscrepancyId>,
    /// Objects that agree.
    pub matched: i32,
    /// Objects and lines that do not.
    pub differing: i32,
    /// When.
    pub at: DateTime<Utc>,
}

/// Which lines to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineQuery {
    /// Of one gateway.
    pub gateway: Option<SettledGateway>,
    /// Of one mode.
    pub livemode: Option<bool>,
    /// Read by one run.
    pub run_id: Option<SettlementRunId>,
    /// With one result.
    pub result: Option<String>,
    /// Of one kind (`charge`, `refund`, ...).
    pub kind: Option<String>,
    /// Paid out by one bank payout.
    pub payout: Option<String>,
    /// Booked at or after.
    pub since: Option<DateTime<Utc>>,
    /// Booked before.
    pub until: Option<DateTime<Utc>>,
    /// Only lines after this one (its booking time and id), for the next
    /// page.
    pub after: Option<(DateTime<Utc>, String)>,
    /// At most this many, oldest first.
    pub limit: u32,
}

/// Which discrepancies to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscrepancyQuery {
    /// Of one gateway.
    pub gateway: Option<SettledGateway>,
    /// Of one mode.
    pub livemode: Option<bool>,
    /// In one state.
    pub status: Option<DiscrepancyStatus>,
    /// Last found by one run.
    pub run_id: Option<SettlementRunId>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// A bank payout with what its lines add up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutSummary {
    /// Whose.
    pub gateway: SettledGateway,
    /// Live money or test money.
    pub livemode: bool,
    /// The payout as the gateway reported it.
    pub payout: GatewayBankPayout,
    /// Whether the gateway has said which lines it paid out.
    pub itemised: bool,
    /// Per kind of line (`charge`, `refund`, `fee` ...): the sum of nets
    /// and the fees, in minor units, with the count of lines.
    pub by_kind: Vec<(String, i64, i64, i64)>,
    /// Lines whose object agrees.
    pub matched: i64,
    /// Lines whose object does not (or that nothing explains).
    pub differing: i64,
}

/// Stores settlement reconciliation.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReconciliationStore: Send + Sync {
    /// Starts `run`'s period (gateway, mode, period), or takes it over
    /// when its last holder's lease ran out before it finished: then the
    /// stored run comes back, its attempts counted, leased until
    /// `lease_until`.
    async fn claim_run(&self, run: SettlementRun, lease_until: DateTime<Utc>) -> Result<RunClaim, StoreError>;
    /// Stores lines each once (a line stored before is left as it was,
    /// and its journal not written again); marks `bank_payout` on them
    /// when given. Returns how many were new.
    async fn save_lines(
        &self,
        run: SettlementRunId,
        gateway: SettledGateway,
        livemode: bool,
        lines: Vec<LineToStore>,
        bank_payout: Option<String>,
    ) -> Result<i32, StoreError>;
    /// Moves a run to `step`, adding `lines_read`.
    async fn advance(&self, run: SettlementRunId, step: RunStep, lines_read: i32) -> Result<(), StoreError>;
    /// Stores payouts to the bank (a payout seen before is updated).
    async fn save_payouts(
        &self,
        gateway: SettledGateway,
        livemode: bool,
        payouts: Vec<GatewayBankPayout>,
    ) -> Result<(), StoreError>;
    /// Payouts whose lines the gateway has not itemised yet.
    async fn unitemised_payouts(&self, gateway: SettledGateway, livemode: bool) -> Result<Vec<String>, StoreError>;
    /// Marks a payout itemised (its lines stored and marked).
    async fn mark_itemised(&self, gateway: SettledGateway, livemode: bool, payout: String) -> Result<(), StoreError>;
    /// The objects the lines a run read book.
    async fn run_objects(&self, run: SettlementRunId) -> Result<Vec<ObjectKey>, StoreError>;
    /// The objects of `gateway`'s method and `livemode` the ledger moved
    /// money for in `period` (sales completed, refunds processed, disputes
    /// opened or decided, transfers paid or returned).
    async fn active_objects(
        &self,
        gateway: SettledGateway,
        livemode: bool,
        period: SettlementPeriod,
    ) -> Result<Vec<ObjectKey>, StoreError>;
    /// Every stored line booking one of `objects`.
    async fn object_lines(
        &self,
        gateway: SettledGateway,
        livemode: bool,
        objects: Vec<ObjectKey>,
    ) -> Result<Vec<SettlementLine>, StoreError>;
    /// The lines a run read that book no object (fees, adjustments ...).
    async fn unexplained_lines(&self, run: SettlementRunId) -> Result<Vec<SettlementLine>, StoreError>;
    /// What the ledger booked for `objects` (those it knows), summed over
    /// their journals, in the gateway lines' sign convention.
    async fn booked(
        &self,
        gateway: SettledGateway,
        livemode: bool,
        objects: Vec<ObjectKey>,
    ) -> Result<Vec<Booked>, StoreError>;
    /// The latest discrepancy of each of `objects` (`None` kind: a line
    /// id), open or not.
    async fn latest_discrepancies(
        &self,
        gateway: SettledGateway,
        livemode: bool,
        objects: Vec<(Option<BookedKind>, String)>,
    ) -> Result<Vec<Discrepancy>, StoreError>;
    /// Stores what matching found and finishes the run, in one
    /// transaction. A discrepancy another run opened meanwhile for the
    /// same object is left to it.
    async fn finish_run(&self, run: SettlementRunId, findings: Findings) -> Result<(), StoreError>;
    /// Records why an attempt stopped and releases the lease, so that the
    /// next attempt resumes at once.
    async fn fail_run(&self, run: SettlementRunId, error: String) -> Result<(), StoreError>;
    /// A run.
    async fn find_run(&self, id: SettlementRunId) -> Result<Option<SettlementRun>, StoreError>;
    /// Runs, newest period first.
    async fn list_runs(
        &self,
        gateway: Option<SettledGateway>,
        livemode: Option<bool>,
        limit: u32,
    ) -> Result<Vec<SettlementRun>, StoreError>;
    /// The end of the latest finished run of a gateway and mode.
    async fn reconciled_until(
        &self,
        gateway: SettledGateway,
        livemode: bool,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Runs that stopped before finishing and are not held now.
    async fn stalled_runs(&self, now: DateTime<Utc>) -> Result<Vec<SettlementRun>, StoreError>;
    /// Stored lines.
    async fn list_lines(&self, query: LineQuery) -> Result<Vec<ReconciledLine>, StoreError>;
    /// Bank payouts with their lines summed, newest first.
    async fn payout_summaries(
        &self,
        gateway: Option<SettledGateway>,
        livemode: Option<bool>,
        limit: u32,
    ) -> Result<Vec<PayoutSummary>, StoreError>;
    /// A discrepancy.
    async fn find_discrepancy(&self, id: DiscrepancyId) -> Result<Option<Discrepancy>, StoreError>;
    /// Discrepancies.
    async fn list_discrepancies(&self, query: DiscrepancyQuery) -> Result<Vec<Discrepancy>, StoreError>;
    /// Stores an admin's resolution (with its adjusting journal), if the
    /// discrepancy is still open; `false` when it is not.
    async fn resolve(&self, resolved: Discrepancy, journal: Option<Journal>, by: Actor) -> Result<bool, StoreError>;
}
