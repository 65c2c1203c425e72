//! Rows of the settlement tables and their domain forms.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::ids::{DiscrepancyId, JournalId, SettlementRunId, UserId};
use domain::money::Money;
use domain::ports::{
    LineAmounts, ObjectKey, ReconciledLine, SettlementKind, SettlementLine, SettlementPeriod, StoreError,
};
use domain::reconciliation::{
    BookedKind, Discrepancy, DiscrepancyStatus, Figures, LineResult, RunStep, SettledGateway, SettlementRun,
};
use uuid::Uuid;

use crate::errors::corrupt;
use crate::rows::currency;
use crate::schema::{settlement_discrepancies, settlement_lines, settlement_runs};

pub(super) fn gateway(name: &str) -> Result<SettledGateway, StoreError> {
    name.parse().map_err(|_| corrupt("settlement gateway"))
}

fn object_kind(name: &str) -> Result<BookedKind, StoreError> {
    name.parse().map_err(|_| corrupt("settlement object kind"))
}

#[derive(Queryable, Selectable, Insertable, QueryableByName, Debug)]
#[diesel(table_name = settlement_runs, check_for_backend(diesel::pg::Pg))]
pub(super) struct RunRow {
    pub id: Uuid,
    pub gateway: String,
    pub livemode: bool,
    pub period_since: DateTime<Utc>,
    pub period_until: DateTime<Utc>,
    pub step: String,
    pub leased_until: Option<DateTime<Utc>>,
    pub attempts: i32,
    pub lines_read: i32,
    pub matched: i32,
    pub differing: i32,
    pub last_error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl RunRow {
    pub(super) fn new(run: &SettlementRun, lease_until: DateTime<Utc>) -> Self {
        RunRow {
            id: run.id.uuid(),
            gateway: run.gateway.as_str().to_owned(),
            livemode: run.livemode,
            period_since: run.period.since(),
            period_until: run.period.until(),
            step: run.step.as_str().to_owned(),
            leased_until: Some(lease_until),
            attempts: 1,
            lines_read: 0,
            matched: 0,
            differing: 0,
            last_error: None,
            started_at: run.started_at,
            finished_at: None,
        }
    }

    pub(super) fn into_domain(self) -> Result<SettlementRun, StoreError> {
        Ok(SettlementRun {
            id: SettlementRunId::from_uuid(self.id),
            gateway: gateway(&self.gateway)?,
            livemode: self.livemode,
            period: SettlementPeriod::new(self.period_since, self.period_until).map_err(|_| corrupt("run period"))?,
            step: self.step.parse::<RunStep>().map_err(|_| corrupt("run step"))?,
            attempts: self.attempts,
            lines_read: self.lines_read,
            matched: self.matched,
            differing: self.differing,
            last_error: self.last_error,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable, QueryableByName, Debug)]
#[diesel(table_name = settlement_lines, check_for_backend(diesel::pg::Pg))]
pub(super) struct LineRow {
    pub gateway: String,
    pub livemode: bool,
    pub line_id: String,
    pub run_id: Uuid,
    pub kind: String,
    pub amount_minor: i64,
    pub fee_minor: i64,
    pub net_minor: i64,
    pub currency: String,
    pub source: Option<String>,
    pub reference: Option<String>,
    pub bank_payout: Option<String>,
    pub created_at: DateTime<Utc>,
    pub object_kind: Option<String>,
    pub object_id: Option<String>,
    pub result: Option<String>,
    pub journal_id: Option<Uuid>,
}

impl LineRow {
    pub(super) fn new(
        run: SettlementRunId,
        gateway: SettledGateway,
        livemode: bool,
        line: &SettlementLine,
        object: Option<&ObjectKey>,
    ) -> Self {
        LineRow {
            gateway: gateway.as_str().to_owned(),
            livemode,
            line_id: line.id.clone(),
            run_id: run.uuid(),
            kind: line.kind.name(),
            amount_minor: line.amounts.amount().minor(),
            fee_minor: line.amounts.fee().minor(),
            net_minor: line.amounts.net().minor(),
            currency: line.amounts.currency().code().to_owned(),
            source: line.source.clone(),
            reference: line.reference.clone(),
            bank_payout: line.payout.clone(),
            created_at: line.created,
            object_kind: object.map(|(kind, _)| kind.as_str().to_owned()),
            object_id: object.map(|(_, id)| id.clone()),
            result: None,
            journal_id: None,
        }
    }

    pub(super) fn line(&self) -> Result<SettlementLine, StoreError> {
        let currency = currency(&self.currency)?;
        let money = |minor| Money::from_minor(minor, currency);
        Ok(SettlementLine {
            id: self.line_id.clone(),
            kind: SettlementKind::from_name(&self.kind).ok_or_else(|| corrupt("line kind"))?,
            amounts: LineAmounts::new(money(self.amount_minor), money(self.fee_minor), money(self.net_minor))
                .map_err(|_| corrupt("line figures"))?,
            source: self.source.clone(),
            reference: self.reference.clone(),
            payout: self.bank_payout.clone(),
            created: self.created_at,
        })
    }

    pub(super) fn into_reconciled(self) -> Result<ReconciledLine, StoreError> {
        let line = self.line()?;
        let object = match (self.object_kind, self.object_id) {
            (Some(kind), Some(id)) => Some((object_kind(&kind)?, id)),
            _ => None,
        };
        Ok(ReconciledLine {
            gateway: gateway(&self.gateway)?,
            livemode: self.livemode,
            line,
            run_id: SettlementRunId::from_uuid(self.run_id),
            object,
            result: self.result,
        })
    }
}

#[derive(Queryable, Selectable, Insertable, QueryableByName, Debug, Clone)]
#[diesel(table_name = settlement_discrepancies, check_for_backend(diesel::pg::Pg))]
pub(super) struct DiscrepancyRow {
    pub id: Uuid,
    pub gateway: String,
    pub livemode: bool,
    pub run_id: Uuid,
    pub object_kind: Option<String>,
    pub object_id: String,
    pub result: String,
    pub currency: String,
    pub gateway_amount_minor: i64,
    pub gateway_fee_minor: i64,
    pub ledger_amount_minor: i64,
    pub ledger_fee_minor: i64,
    pub difference_minor: i64,
    pub status: String,
    pub reason: Option<String>,
    pub resolved_by: Option<i64>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub journal_id: Option<Uuid>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl DiscrepancyRow {
    pub(super) fn from_domain(d: &Discrepancy) -> Result<Self, StoreError> {
        let difference = d.difference().map_err(|_| corrupt("discrepancy difference"))?;
        Ok(DiscrepancyRow {
            id: d.id.uuid(),
            gateway: d.gateway.as_str().to_owned(),
            livemode: d.livemode,
            run_id: d.run_id.uuid(),
            object_kind: d.object_kind.map(|k| k.as_str().to_owned()),
            object_id: d.object_id.clone(),
            result: d.result.as_str().to_owned(),
            currency: d.gateway_figures.amount.currency().code().to_owned(),
            gateway_amount_minor: d.gateway_figures.amount.minor(),
            gateway_fee_minor: d.gateway_figures.fee.minor(),
            ledger_amount_minor: d.ledger_figures.amount.minor(),
            ledger_fee_minor: d.ledger_figures.fee.minor(),
            difference_minor: difference.minor(),
            status: d.status.as_str().to_owned(),
            reason: d.reason.clone(),
            resolved_by: d.resolved_by.map(|u| u.get()),
            resolved_at: d.resolved_at,
            journal_id: d.journal_id.map(|j| j.uuid()),
            opened_at: d.opened_at,
            updated_at: d.updated_at,
        })
    }

    pub(super) fn into_domain(self) -> Result<Discrepancy, StoreError> {
        let currency = currency(&self.currency)?;
        let money = |minor| Money::from_minor(minor, currency);
        let gateway_figures = Figures { amount: money(self.gateway_amount_minor), fee: money(self.gateway_fee_minor) };
        let ledger_figures = Figures { amount: money(self.ledger_amount_minor), fee: money(self.ledger_fee_minor) };
        let result = match self.result.as_str() {
            "amount_differs" => {
                LineResult::AmountDiffers { gateway: gateway_figures.amount, ledger: ledger_figures.amount }
            }
            "fee_differs" => LineResult::FeeDiffers { gateway: gateway_figures.fee, ledger: ledger_figures.fee },
            "missing_in_ledger" => LineResult::MissingInLedger,
            "missing_at_gateway" => LineResult::MissingAtGateway,
            "unexpected_type" => LineResult::UnexpectedType,
            _ => return Err(corrupt("discrepancy result")),
        };
        Ok(Discrepancy {
            id: DiscrepancyId::from_uuid(self.id),
            gateway: gateway(&self.gateway)?,
            livemode: self.livemode,
            run_id: SettlementRunId::from_uuid(self.run_id),
            object_kind: self.object_kind.as_deref().map(object_kind).transpose()?,
            object_id: self.object_id,
            result,
            gateway_figures,
            ledger_figures,
            status: self.status.parse::<DiscrepancyStatus>().map_err(|_| corrupt("discrepancy status"))?,
            reason: self.reason,
            resolved_by: self.resolved_by.map(UserId::new),
            resolved_at: self.resolved_at,
            journal_id: self.journal_id.map(JournalId::from_uuid),
            opened_at: self.opened_at,
            updated_at: self.updated_at,
        })
    }
}
