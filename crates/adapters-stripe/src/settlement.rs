//! What Stripe booked and paid out: balance transactions (by period, or by
//! the payout that paid them out), payouts to the platform's bank, and the
//! balance, behind the domain's `SettlementGateway`.
//!
//! Stripe's figures are already signed as the domain wants them (into the
//! balance positive) and in minor units; `fee` is what Stripe kept and
//! `net = amount - fee`, which is checked on every line. Each list is read
//! to its end with `starting_after`. The `source` of every line is expanded
//! (`expand[]=data.source`) so a refund or dispute names its PaymentIntent,
//! the id Skillpay stores with a payment, without a call per line.

use adapters_http::Method;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::money::{Currency, Money};
use domain::ports::{
    BankPayoutStatus, GatewayBalance, GatewayBankPayout, GatewayError, LineAmounts, PayoutContents, SettlementGateway,
    SettlementKind, SettlementLine, SettlementPeriod,
};
use serde::de::DeserializeOwned;

use crate::client::CallError;
use crate::gateway::{StripeGateway, path_segment};
use crate::wire::{self, Balance, BankPayout, SettlementTransaction};

/// Items read per page (Stripe's maximum).
const SETTLEMENT_PAGE: usize = 100;
/// Every balance transaction list names the object each line books.
const EXPAND_SOURCE: &str = "expand[]=data.source";

/// A Stripe list item's id, the cursor of the next page.
trait Listed {
    fn cursor(&self) -> &str;
}

impl Listed for SettlementTransaction {
    fn cursor(&self) -> &str {
        &self.id
    }
}

impl Listed for BankPayout {
    fn cursor(&self) -> &str {
        &self.id
    }
}

impl StripeGateway {
    /// Every item of the list at `path?query`, page after page.
    async fn list_all<T: DeserializeOwned + Listed>(&self, path: &str, query: &str) -> Result<Vec<T>, GatewayError> {
        let mut items: Vec<T> = Vec::new();
        loop {
            let mut url = format!("{path}?{query}&limit={SETTLEMENT_PAGE}");
            if let Some(last) = items.last() {
                url.push_str(&format!("&starting_after={}", path_segment(last.cursor())?));
            }
            let page: wire::List<T> =
                self.client().call(Method::GET, &url, &[], None).await.map_err(CallError::into_gateway_error)?;
            let more = page.has_more && !page.data.is_empty();
            items.extend(page.data);
            if !more {
                return Ok(items);
            }
        }
    }

    async fn retrieve_payout(&self, payout_id: &str) -> Result<BankPayout, GatewayError> {
        let path = format!("/v1/payouts/{}", path_segment(payout_id)?);
        self.client().call(Method::GET, &path, &[], None).await.map_err(CallError::into_gateway_error)
    }
}

/// Stripe's `created` filter for a period. Stripe counts whole seconds, so
/// the filter is widened to whole seconds and the answer cut back to the
/// period exactly by the caller.
fn created_filter(period: &SettlementPeriod) -> String {
    let since = period.since().timestamp();
    let until = period.until();
    let until = if until.timestamp_subsec_nanos() > 0 { until.timestamp() + 1 } else { until.timestamp() };
    format!("created[gte]={since}&created[lt]={until}")
}

#[async_trait]
impl SettlementGateway for StripeGateway {
    /// `GET /v1/payouts?created[gte]=…&created[lt]=…`, every page.
    async fn payouts(&self, period: SettlementPeriod) -> Result<Vec<GatewayBankPayout>, GatewayError> {
        let payouts: Vec<BankPayout> = self.list_all("/v1/payouts", &created_filter(&period)).await?;
        let payouts = payouts.iter().map(bank_payout_of).collect::<Result<Vec<_>, _>>()?;
        Ok(payouts.into_iter().filter(|payout| period.contains(payout.created)).collect())
    }

    /// `GET /v1/balance_transactions?created[gte]=…&created[lt]=…`, every
    /// page.
    async fn lines(&self, period: SettlementPeriod) -> Result<Vec<SettlementLine>, GatewayError> {
        let query = format!("{}&{EXPAND_SOURCE}", created_filter(&period));
        let transactions: Vec<SettlementTransaction> = self.list_all("/v1/balance_transactions", &query).await?;
        let lines = transactions.iter().map(|t| line_of(t, None)).collect::<Result<Vec<_>, _>>()?;
        Ok(lines.into_iter().filter(|line| period.contains(line.created)).collect())
    }

    /// The payout, then `GET /v1/balance_transactions?payout=po_…`, every
    /// page. Stripe lists the lines of automatic payouts only, and only
    /// once it has tied them all to the payout (`reconciliation_status`
    /// `completed`).
    async fn payout_lines(&self, payout_id: &str) -> Result<PayoutContents, GatewayError> {
        let payout = self.retrieve_payout(payout_id).await?;
        if !payout.automatic {
            return Ok(PayoutContents::NotItemised);
        }
        if payout.reconciliation_status.as_deref().is_some_and(|status| status != "completed") {
            return Ok(PayoutContents::NotYet);
        }
        let query = format!("payout={}&{EXPAND_SOURCE}", path_segment(&payout.id)?);
        let transactions: Vec<SettlementTransaction> = self.list_all("/v1/balance_transactions", &query).await?;
        let lines = transactions.iter().map(|t| line_of(t, Some(&payout.id))).collect::<Result<Vec<_>, _>>()?;
        Ok(PayoutContents::Itemised(lines))
    }

    /// `GET /v1/payouts/{id}`.
    async fn payout(&self, payout_id: &str) -> Result<GatewayBankPayout, GatewayError> {
        bank_payout_of(&self.retrieve_payout(payout_id).await?)
    }

    /// `GET /v1/balance`: available and pending per currency.
    async fn balances(&self) -> Result<Vec<GatewayBalance>, GatewayError> {
        let balance: Balance =
            self.client().call(Method::GET, "/v1/balance", &[], None).await.map_err(CallError::into_gateway_error)?;
        balances_of(&balance)
    }
}

/// A Stripe currency code as Skillpay's currency; one Skillpay does not
/// know is refused, never skipped: reconciliation must see every cent.
fn currency_of(code: &str, what: &str) -> Result<Currency, GatewayError> {
    Currency::from_code(&code.to_ascii_uppercase())
        .map_err(|_| GatewayError::InvalidRequest(format!("{what} is in a currency Skillpay does not support: {code}")))
}

fn time_of(unix: i64, what: &str) -> Result<DateTime<Utc>, GatewayError> {
    DateTime::from_timestamp(unix, 0).ok_or_else(|| GatewayError::Unavailable(format!("{what} has an unreadable time")))
}

/// What a balance transaction's `type` books. A dispute's money arrives as
/// an `adjustment` whose source is the dispute (`dp_…`, or `du_…` for some
/// payment methods); other adjustments stay adjustments.
pub(crate) fn kind_of(transaction: &SettlementTransaction) -> SettlementKind {
    match transaction.kind.as_str() {
        "charge" | "payment" => SettlementKind::Charge,
        "refund" | "payment_refund" => SettlementKind::Refund,
        "refund_failure" | "payment_failure_refund" => SettlementKind::RefundFailure,
        "adjustment" => {
            let source = transaction.source.as_ref().map(|source| source.id()).unwrap_or_default();
            if source.starts_with("dp_") || source.starts_with("du_") {
                SettlementKind::Dispute
            } else {
                SettlementKind::Adjustment
            }
        }
        "stripe_fee" | "stripe_fx_fee" | "tax_fee" => SettlementKind::Fee,
        "transfer" => SettlementKind::Transfer,
        "transfer_refund" | "transfer_cancel" | "transfer_failure" => SettlementKind::TransferReversal,
        "reserve_transaction" | "reserved_funds" => SettlementKind::Hold,
        "payout" => SettlementKind::BankPayout,
        "payout_cancel" | "payout_failure" => SettlementKind::BankPayoutReversal,
        other => SettlementKind::Other(other.to_owned()),
    }
}

/// The object a line's source belongs to, as Skillpay stores it: the
/// PaymentIntent of a charge, refund or dispute (its charge when Stripe
/// names no PaymentIntent), the transfer of a transfer reversal.
fn reference_of(transaction: &SettlementTransaction, kind: &SettlementKind) -> Option<String> {
    let source = transaction.source.as_ref()?.object()?;
    let id = |field: &Option<wire::Expandable<wire::Identified>>| field.as_ref().map(|f| f.id().to_owned());
    match kind {
        SettlementKind::Charge => id(&source.payment_intent),
        SettlementKind::Refund | SettlementKind::RefundFailure | SettlementKind::Dispute => {
            id(&source.payment_intent).or_else(|| id(&source.charge))
        }
        SettlementKind::TransferReversal => id(&source.transfer),
        SettlementKind::Adjustment
        | SettlementKind::Fee
        | SettlementKind::Transfer
        | SettlementKind::Hold
        | SettlementKind::BankPayout
        | SettlementKind::BankPayoutReversal
        | SettlementKind::Other(_) => None,
    }
}

/// A balance transaction as the domain's line; `payout` when it was read
/// as part of that payout.
pub(crate) fn line_of(
    transaction: &SettlementTransaction,
    payout: Option<&str>,
) -> Result<SettlementLine, GatewayError> {
    let id = &transaction.id;
    let currency = currency_of(&transaction.currency, &format!("balance transaction {id}"))?;
    let money = |minor| Money::from_minor(minor, currency);
    let amounts = LineAmounts::new(money(transaction.amount), money(transaction.fee), money(transaction.net))
        .map_err(|e| GatewayError::InvalidRequest(format!("balance transaction {id}: {e}")))?;
    let kind = kind_of(transaction);
    Ok(SettlementLine {
        id: id.clone(),
        reference: reference_of(transaction, &kind),
        kind,
        amounts,
        source: transaction.source.as_ref().map(|source| source.id().to_owned()),
        payout: payout.map(str::to_owned),
        created: time_of(transaction.created, &format!("balance transaction {id}"))?,
    })
}

/// A Payout as the domain's bank payout.
pub(crate) fn bank_payout_of(payout: &BankPayout) -> Result<GatewayBankPayout, GatewayError> {
    let what = format!("payout {}", payout.id);
    let currency = currency_of(&payout.currency, &what)?;
    let status = match payout.status.as_str() {
        "pending" => BankPayoutStatus::Pending,
        "in_transit" => BankPayoutStatus::InTransit,
        "paid" => BankPayoutStatus::Paid,
        "failed" => BankPayoutStatus::Failed { code: payout.failure_code.clone() },
        "canceled" => BankPayoutStatus::Canceled,
        other => BankPayoutStatus::Other(other.to_owned()),
    };
    Ok(GatewayBankPayout {
        id: payout.id.clone(),
        amount: Money::from_minor(payout.amount, currency),
        status,
        created: time_of(payout.created, &what)?,
        arrival: payout.arrival_date.map(|at| time_of(at, &what)).transpose()?,
    })
}

/// The Balance as one entry per currency.
pub(crate) fn balances_of(balance: &Balance) -> Result<Vec<GatewayBalance>, GatewayError> {
    let mut balances: Vec<GatewayBalance> = Vec::new();
    let overflow = |_| GatewayError::Unavailable("the balance is out of range".to_owned());
    for (part, held) in balance.available.iter().map(|a| (a, false)).chain(balance.pending.iter().map(|p| (p, true))) {
        let amount = Money::from_minor(part.amount, currency_of(&part.currency, "the balance")?);
        let at = match balances.iter().position(|b| b.available.currency() == amount.currency()) {
            Some(at) => at,
            None => {
                let zero = Money::zero(amount.currency());
                balances.push(GatewayBalance { available: zero, held: zero });
                balances.len() - 1
            }
        };
        let entry = &mut balances[at];
        if held {
            entry.held = entry.held.checked_add(amount).map_err(overflow)?;
        } else {
            entry.available = entry.available.checked_add(amount).map_err(overflow)?;
        }
    }
    Ok(balances)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn transaction(body: Value) -> SettlementTransaction {
        serde_json::from_value(body).unwrap()
    }

    fn txn(kind: &str, amount: i64, fee: i64, source: Value) -> SettlementTransaction {
        transaction(json!({"id": "txn_1", "object": "balance_transaction", "amount": amount, "fee": fee,
            "net": amount - fee, "currency": "usd", "type": kind, "source": source, "created": 1_790_000_000,
            "status": "available", "reporting_category": "charge", "fee_details": []}))
    }

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    #[test]
    fn a_charge_line_keeps_stripe_s_signed_minor_units_and_names_its_payment_intent() {
        let charge = txn("charge", 10_000, 320, json!({"id": "ch_1", "object": "charge", "payment_intent": "pi_1"}));
        let line = line_of(&charge, Some("po_1")).unwrap();
        assert_eq!(line.kind, SettlementKind::Charge);
        assert_eq!(
            (line.amounts.amount(), line.amounts.fee(), line.amounts.net()),
            (usd(10_000), usd(320), usd(9_680))
        );
        assert_eq!(line.source.as_deref(), Some("ch_1"));
        assert_eq!(line.reference.as_deref(), Some("pi_1"));
        assert_eq!(line.payout.as_deref(), Some("po_1"));
        assert_eq!(line.created, DateTime::from_timestamp(1_790_000_000, 0).unwrap());
    }

    #[test]
    fn each_type_maps_to_its_kind_and_unknown_ones_keep_their_name() {
        let cases = [
            ("charge", SettlementKind::Charge),
            ("payment", SettlementKind::Charge),
            ("refund", SettlementKind::Refund),
            ("payment_refund", SettlementKind::Refund),
            ("refund_failure", SettlementKind::RefundFailure),
            ("payment_failure_refund", SettlementKind::RefundFailure),
            ("stripe_fee", SettlementKind::Fee),
            ("stripe_fx_fee", SettlementKind::Fee),
            ("tax_fee", SettlementKind::Fee),
            ("transfer", SettlementKind::Transfer),
            ("transfer_refund", SettlementKind::TransferReversal),
            ("transfer_cancel", SettlementKind::TransferReversal),
            ("transfer_failure", SettlementKind::TransferReversal),
            ("reserve_transaction", SettlementKind::Hold),
            ("reserved_funds", SettlementKind::Hold),
            ("payout", SettlementKind::BankPayout),
            ("payout_cancel", SettlementKind::BankPayoutReversal),
            ("payout_failure", SettlementKind::BankPayoutReversal),
            ("adjustment", SettlementKind::Adjustment),
            ("topup", SettlementKind::Other("topup".to_owned())),
            ("something_new", SettlementKind::Other("something_new".to_owned())),
        ];
        for (kind, expected) in cases {
            assert_eq!(kind_of(&txn(kind, -1, 0, Value::Null)), expected, "{kind}");
        }
    }

    #[test]
    fn an_adjustment_about_a_dispute_is_a_dispute_line_naming_the_disputed_payment() {
        let expanded = txn(
            "adjustment",
            -5_000,
            1_500,
            json!({"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1"}),
        );
        let line = line_of(&expanded, None).unwrap();
        assert_eq!(line.kind, SettlementKind::Dispute);
        assert_eq!(line.amounts.net(), usd(-6_500), "the dispute fee comes on top of the amount taken");
        assert_eq!((line.source.as_deref(), line.reference.as_deref()), (Some("dp_1"), Some("pi_1")));
        assert_eq!(kind_of(&txn("adjustment", -100, 0, json!("dp_2"))), SettlementKind::Dispute, "unexpanded");
    }

    #[test]
    fn refunds_name_their_payment_intent_or_else_their_charge_and_reversals_their_transfer() {
        let refund = txn(
            "refund",
            -2_500,
            0,
            json!({"id": "re_1", "object": "refund", "charge": "ch_1",
            "payment_intent": "pi_1"}),
        );
        assert_eq!(line_of(&refund, None).unwrap().reference.as_deref(), Some("pi_1"));
        let legacy = txn(
            "refund",
            -2_500,
            0,
            json!({"id": "re_2", "object": "refund", "charge": "ch_2",
            "payment_intent": null}),
        );
        assert_eq!(line_of(&legacy, None).unwrap().reference.as_deref(), Some("ch_2"));
        let reversal = txn(
            "transfer_refund",
            4_000,
            0,
            json!({"id": "trr_1", "object": "transfer_reversal",
            "transfer": "tr_1", "amount": 4_000}),
        );
        let line = line_of(&reversal, None).unwrap();
        assert_eq!(
            (line.kind, line.source.as_deref(), line.reference.as_deref()),
            (SettlementKind::TransferReversal, Some("trr_1"), Some("tr_1"))
        );
        let fee = line_of(&txn("stripe_fee", -200, 0, Value::Null), None).unwrap();
        assert_eq!((fee.source, fee.reference), (None, None), "a fee line books no object");
    }

    #[test]
    fn a_line_in_a_currency_skillpay_does_not_know_is_refused() {
        let mut line = txn("charge", 100, 0, json!("ch_1"));
        line.currency = "xof".to_owned();
        assert!(matches!(line_of(&line, None), Err(GatewayError::InvalidRequest(m)) if m.contains("xof")));
    }

    #[test]
    fn a_line_whose_net_is_not_its_amount_less_its_fee_is_refused() {
        let mut line = txn("charge", 10_000, 320, json!("ch_1"));
        line.net = 9_681;
        assert!(matches!(line_of(&line, None), Err(GatewayError::InvalidRequest(_))));
    }

    #[test]
    fn payouts_map_their_status_failure_and_arrival() {
        let payout: BankPayout = serde_json::from_value(json!({"id": "po_1", "object": "payout", "amount": 1_100,
            "arrival_date": 1_790_100_000, "automatic": true, "created": 1_790_000_000, "currency": "usd",
            "status": "failed", "failure_code": "account_closed", "reconciliation_status": "completed",
            "method": "standard", "type": "bank_account"}))
        .unwrap();
        let mapped = bank_payout_of(&payout).unwrap();
        assert_eq!(mapped.amount, usd(1_100));
        assert_eq!(mapped.status, BankPayoutStatus::Failed { code: Some("account_closed".to_owned()) });
        assert_eq!(mapped.arrival, DateTime::from_timestamp(1_790_100_000, 0));
        for (status, expected) in [
            ("pending", BankPayoutStatus::Pending),
            ("in_transit", BankPayoutStatus::InTransit),
            ("paid", BankPayoutStatus::Paid),
            ("canceled", BankPayoutStatus::Canceled),
            ("new_one", BankPayoutStatus::Other("new_one".to_owned())),
        ] {
            let payout = BankPayout { status: status.to_owned(), ..payout.clone() };
            assert_eq!(bank_payout_of(&payout).unwrap().status, expected);
        }
    }

    #[test]
    fn the_balance_is_one_entry_per_currency_with_pending_funds_held() {
        let balance: Balance = serde_json::from_value(json!({"object": "balance", "livemode": false,
            "available": [{"amount": 50_000, "currency": "usd", "source_types": {"card": 50_000}},
                          {"amount": 700, "currency": "jpy"}],
            "pending": [{"amount": 1_234, "currency": "usd"}]}))
        .unwrap();
        let balances = balances_of(&balance).unwrap();
        assert_eq!(balances.len(), 2);
        assert_eq!((balances[0].available, balances[0].held), (usd(50_000), usd(1_234)));
        let yen = Money::from_minor(700, Currency::JPY);
        assert_eq!((balances[1].available, balances[1].held), (yen, Money::zero(Currency::JPY)));
    }

    #[test]
    fn the_created_filter_covers_the_period_in_whole_seconds() {
        let since = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let until = DateTime::from_timestamp(1_790_086_400, 500_000_000).unwrap();
        let period = SettlementPeriod::new(since, until).unwrap();
        assert_eq!(created_filter(&period), "created[gte]=1790000000&created[lt]=1790086401");
    }
}
