//! Refunds made at the gateway: a refund issued in the gateway's dashboard,
//! or a reversal, moves money Skillpay did not ask to move. Every refund
//! webhook, and every event about a payment's refunds, re-reads the list
//! of refunds the gateway holds for the payment and brings Skillpay in
//! line with it:
//!
//! - a refund Skillpay made (it carries Skillpay's reference) is settled
//!   through the usual path, even before its gateway id was recorded;
//! - a succeeded refund Skillpay never made becomes a refund of origin
//!   `gateway`, stored already processed, with the same fee reversal, the
//!   same journal and the same events as one made through Skillpay.
//!
//! The gateway's list decides the amounts, never the webhook's body. A
//! refund is recorded once per gateway id (a unique index), and its
//! payment's refunded amount is a guarded update, so replays and
//! concurrent deliveries record it once, and no refund takes the refunded
//! total above the amount paid: such a refund, and a refund of a payment
//! Skillpay does not know, is reported as needing attention instead.

use crate::ids::{PaymentId, RefundId};
use crate::ledger::LedgerError;
use crate::money::Money;
use crate::paging::PageRequest;
use crate::payment::{Payment, PaymentMethod};
use crate::ports::{
    GatewayError, GatewayRefundRecord, GatewayRefundState, ProcessedRefund, RecordRefundOutcome, RefundQuery,
};
use crate::refund::{LiveRefunds, Refund, RefundEvent, RefundOrigin, RefundStatus, plan_gateway_refund};

use super::{CHANGE_ATTEMPTS, RefundError, RefundService};

/// The reason recorded on a refund made at the gateway.
pub const GATEWAY_REFUND_REASON: &str = "refunded at the gateway, outside Skillpay";

/// What bringing a payment's refunds in line with its gateway did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayRefundSync {
    /// Refunds made at the gateway and recorded now.
    pub recorded: Vec<Refund>,
    /// What could not be recorded and needs a person (an amount above
    /// what is left, a payment Skillpay does not know).
    pub needs_attention: Vec<String>,
}

impl GatewayRefundSync {
    fn attention(note: String) -> Self {
        Self { recorded: Vec::new(), needs_attention: vec![note] }
    }
}

impl RefundService {
    /// Handles a refund webhook of `provider`: a refund Skillpay made is
    /// synced as before; one it does not know leads to its payment, whose
    /// refunds are then re-read ([`Self::sync_gateway_refunds`]).
    pub async fn sync_refund_event(
        &self,
        provider: PaymentMethod,
        provider_refund_id: &str,
    ) -> Result<GatewayRefundSync, RefundError> {
        if self.sync_by_provider_id(provider_refund_id).await?.is_some() {
            return Ok(GatewayRefundSync::default());
        }
        let gateway =
            self.ports.gateways.refunds(provider).ok_or(RefundError::Gateway(GatewayError::UnknownPayment))?;
        let provider_payment_id = match gateway.payment_of_refund(provider_refund_id).await {
            Ok(id) => id,
            Err(GatewayError::UnknownPayment) => {
                return Ok(GatewayRefundSync::attention(format!(
                    "the gateway does not know refund {provider_refund_id}"
                )));
            }
            Err(error) => return Err(RefundError::Gateway(error)),
        };
        self.sync_payment_refunds(provider, &provider_payment_id).await
    }

    /// Re-reads the refunds of the payment `provider` knows as
    /// `provider_payment_id` (see the module docs).
    pub async fn sync_payment_refunds(
        &self,
        provider: PaymentMethod,
        provider_payment_id: &str,
    ) -> Result<GatewayRefundSync, RefundError> {
        match self.ports.payments.find_by_provider_id(provider, provider_payment_id.to_owned()).await? {
            Some(payment) => self.sync_gateway_refunds(&payment).await,
            None => Ok(GatewayRefundSync::attention(format!(
                "money was refunded at the gateway for payment {provider_payment_id}, which Skillpay does not know"
            ))),
        }
    }

    /// Brings `payment`'s refunds in line with the list its gateway holds.
    pub async fn sync_gateway_refunds(&self, payment: &Payment) -> Result<GatewayRefundSync, RefundError> {
        let mut sync = GatewayRefundSync::default();
        let Some(provider_payment_id) = payment.provider_payment_id.as_deref() else {
            return Ok(sync);
        };
        let gateway =
            self.ports.gateways.refunds(payment.method).ok_or(RefundError::Gateway(GatewayError::UnknownPayment))?;
        let records = gateway.refunds_of(provider_payment_id).await.map_err(RefundError::Gateway)?;
        for record in records {
            match self.bring_in_line(payment, &record).await {
                Ok(Some(refund)) => sync.recorded.push(refund),
                Ok(None) => {}
                // More than is left: the refunds made at the gateway and
                // Skillpay's own took it together. Nothing is written.
                Err(RefundError::Refused(reason)) => sync.needs_attention.push(format!(
                    "refund {} of {} at the gateway for payment {} was not recorded: {reason}",
                    record.provider_refund_id, record.amount, payment.id
                )),
                Err(error) => return Err(error),
            }
        }
        Ok(sync)
    }

    /// Applies one of the gateway's refunds; the refund recorded now, if
    /// it was made outside Skillpay.
    async fn bring_in_line(
        &self,
        payment: &Payment,
        record: &GatewayRefundRecord,
    ) -> Result<Option<Refund>, RefundError> {
        if let Some(known) = self.ports.refunds.find_by_provider_id(record.provider_refund_id.clone()).await? {
            self.sync(known.id).await?;
            return Ok(None);
        }
        if let Some(ours) = self.made_by_us(payment.id, record).await? {
            self.catch_up(&ours, record).await?;
            return Ok(None);
        }
        // A refund the gateway still works on (or refused) moved no money
        // yet: it is recorded when a later event reports it succeeded.
        if record.state != GatewayRefundState::Succeeded {
            return Ok(None);
        }
        self.record_gateway_refund(payment.id, record).await
    }

    /// The Skillpay refund of `payment` the gateway's record was made for,
    /// if it names one.
    async fn made_by_us(
        &self,
        payment: PaymentId,
        record: &GatewayRefundRecord,
    ) -> Result<Option<Refund>, RefundError> {
        let Some(id) = record.made_for.as_deref().and_then(|id| id.parse::<RefundId>().ok()) else {
            return Ok(None);
        };
        Ok(self.ports.refunds.find(id).await?.filter(|refund| refund.payment_id == payment))
    }

    /// A refund Skillpay sent whose answer it never recorded (the process
    /// died, or the webhook came first): applies what the gateway says.
    async fn catch_up(&self, ours: &Refund, record: &GatewayRefundRecord) -> Result<Refund, RefundError> {
        if ours.status != RefundStatus::Processing {
            return Ok(ours.clone());
        }
        let provider_refund_id = Some(record.provider_refund_id.clone());
        match &record.state {
            GatewayRefundState::Succeeded => self.settle(ours.id, provider_refund_id).await,
            GatewayRefundState::Pending => self.record_provider_id(ours, provider_refund_id).await,
            GatewayRefundState::Failed { .. } => {
                self.change(ours.id, RefundEvent::Fail, |change| change.provider_refund_id = provider_refund_id.clone())
                    .await
            }
        }
    }

    /// Stores a succeeded refund made at the gateway as a processed refund
    /// of origin `gateway`; `None` if it was stored before.
    async fn record_gateway_refund(
        &self,
        payment_id: PaymentId,
        record: &GatewayRefundRecord,
    ) -> Result<Option<Refund>, RefundError> {
        for _ in 0..CHANGE_ATTEMPTS {
            let payment = self.ports.payments.find(payment_id).await?.ok_or(RefundError::NotFound)?;
            let processed = self.processed_refunds(&payment).await?;
            let (amount, fee) =
                plan_gateway_refund(&payment, processed, record.amount).map_err(RefundError::Refused)?;
            let at = self.ports.clock.now();
            let refund = Refund {
                id: RefundId::from_uuid(self.ports.ids.new_id()),
                payment_id,
                amount,
                platform_fee_reversed: fee,
                status: RefundStatus::Processed,
                reason: GATEWAY_REFUND_REASON.to_owned(),
                rejection_reason: None,
                provider_refund_id: Some(record.provider_refund_id.clone()),
                origin: RefundOrigin::Gateway,
                livemode: payment.livemode,
                requested_by: None,
                created_at: at,
                updated_at: at,
                processed_at: Some(at),
                approved_by: None,
                approved_at: None,
                admin_note: None,
                gateway_fee_returned: None,
                payer_history: None,
                needs_two_admins: false,
            };
            let settlement = self.settlement(&payment, &refund, at)?;
            let change = ProcessedRefund {
                journal: settlement.journal,
                payment: settlement.payment,
                refund: refund.clone(),
                outbox: settlement.outbox,
            };
            match self.ports.refunds.record_processed(change).await? {
                RecordRefundOutcome::Recorded => return Ok(Some(refund)),
                RecordRefundOutcome::AlreadyRecorded => return Ok(None),
                RecordRefundOutcome::PaymentMoved => continue,
            }
        }
        Err(RefundError::Contended)
    }

    /// What the payment's processed refunds already took, fee included.
    async fn processed_refunds(&self, payment: &Payment) -> Result<LiveRefunds, RefundError> {
        let currency = payment.amount.currency();
        let mut taken = LiveRefunds { amount: Money::zero(currency), platform_fee_reversed: Money::zero(currency) };
        let mut page = PageRequest { limit: crate::paging::MAX_PAGE_LIMIT, ..PageRequest::default() };
        loop {
            let query = RefundQuery {
                payment_id: Some(payment.id),
                status: Some(RefundStatus::Processed),
                page,
                ..RefundQuery::default()
            };
            let refunds = self.ports.refunds.list(query).await?;
            for refund in &refunds.items {
                taken.amount = taken.amount.checked_add(refund.amount).map_err(LedgerError::from)?;
                taken.platform_fee_reversed =
                    taken.platform_fee_reversed.checked_add(refund.platform_fee_reversed).map_err(LedgerError::from)?;
            }
            match refunds.next {
                Some(next) => page.after = Some(next),
                None => return Ok(taken),
            }
        }
    }
}
