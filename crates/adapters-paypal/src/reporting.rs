//! What PayPal booked and paid out, read with Transaction Search (`GET
//! /v1/reporting/transactions`) and the balances report (`GET
//! /v1/reporting/balances`), behind the domain's `SettlementGateway`.
//!
//! Transaction Search answers at most 31 days per request, so a longer
//! period is read in consecutive windows, each to its last page
//! (`total_pages`). A window's end is sent as is and each answer is cut
//! back to its window `[start, end)`, so a transaction at the instant two
//! windows share is read once whether PayPal counts the end in or not.
//!
//! Signs: PayPal already signs `transaction_amount` as the domain does
//! (into the balance positive); its `fee_amount` is negative when PayPal
//! charged a fee and positive when it gave one back, so the line's fee is
//! its negation. Amounts are decimal strings read exactly
//! (`Amount::to_signed_money`), never through floating point.
//!
//! Payouts to the bank: PayPal has no payout object that contains lines. A
//! withdrawal to the bank (event codes T04xx) is one line among the others,
//! of kind `BankPayout`; [`SettlementGateway::payouts`] answers those
//! withdrawal lines as payouts (id: the withdrawal's transaction id), and
//! [`SettlementGateway::payout_lines`] answers `NotItemised`: PayPal is
//! reconciled by period.

use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use domain::money::{Money, MoneyError};
use domain::ports::{
    BankPayoutStatus, GatewayBalance, GatewayBankPayout, GatewayError, LineAmounts, PayoutContents, SettlementGateway,
    SettlementKind, SettlementLine, SettlementPeriod,
};
use serde::Deserialize;

use crate::client::Call;
use crate::error::CallError;
use crate::gateway::PaypalGateway;
use crate::wire::Amount;

/// The longest span one Transaction Search request may cover.
pub(crate) const SEARCH_WINDOW_DAYS: i64 = 31;
/// Transactions per page (the search's maximum).
const SEARCH_PAGE_SIZE: u32 = 500;
const SEARCH_PATH: &str = "/v1/reporting/transactions";
const BALANCES_PATH: &str = "/v1/reporting/balances";

/// `search_response`, as far as we read it.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchResponse {
    #[serde(default)]
    pub transaction_details: Vec<TransactionDetail>,
    /// Pages of this search; absent on an empty answer.
    #[serde(default)]
    pub total_pages: Option<u32>,
}

/// `transaction_detail`, as far as we read it.
#[derive(Debug, Deserialize)]
pub(crate) struct TransactionDetail {
    pub transaction_info: TransactionInfo,
}

/// `transaction_info`, as far as we read it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TransactionInfo {
    pub transaction_id: String,
    /// The transaction this one belongs to (a refund's capture, a
    /// capture's order).
    #[serde(default)]
    pub paypal_reference_id: Option<String>,
    /// `T0006`, `T1107`, `T0400`, ...
    pub transaction_event_code: String,
    pub transaction_initiation_date: String,
    pub transaction_amount: Amount,
    /// Present only when a fee was charged or given back.
    #[serde(default)]
    pub fee_amount: Option<Amount>,
    /// `S` completed, `P` pending, `D` denied, `V` reversed.
    #[serde(default)]
    pub transaction_status: Option<String>,
}

/// `balances_response`, as far as we read it.
#[derive(Debug, Deserialize)]
pub(crate) struct BalancesResponse {
    #[serde(default)]
    pub balances: Vec<BalanceDetail>,
}

/// `balance_detail`, as far as we read it.
#[derive(Debug, Deserialize)]
pub(crate) struct BalanceDetail {
    pub available_balance: Option<Amount>,
    pub withheld_balance: Option<Amount>,
    pub total_balance: Option<Amount>,
}

/// A time for PayPal's query: RFC 3339 with whole seconds, as its pattern
/// asks; `round_up` moves a time with a fraction to the next second so
/// the window asked for still covers the period.
fn query_time(at: DateTime<Utc>, round_up: bool) -> String {
    let whole = at.timestamp();
    let seconds = if round_up && at.timestamp_subsec_nanos() > 0 { whole + 1 } else { whole };
    DateTime::from_timestamp(seconds, 0).unwrap_or(at).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// PayPal's times: its spec says RFC 3339 (`+00:00`), while its answers
/// are known to write the offset without a colon (`+0000`); both are read.
pub(crate) fn time_of(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// What an event code books. Codes are grouped by PayPal in hundreds
/// (`T00nn` payments, `T01nn` fees, `T04nn` bank withdrawals, `T11nn`
/// reversals, `T12nn` adjustments, `T15nn` and `T21nn` holds); codes this
/// does not know keep their name.
pub(crate) fn kind_of(event_code: &str) -> SettlementKind {
    let group = event_code.get(..3).unwrap_or_default();
    match (group, event_code) {
        // Payouts (MassPay) sent to instructors.
        (_, "T0001") => SettlementKind::Transfer,
        ("T00", _) => SettlementKind::Charge,
        ("T01", _) | (_, "T1108") => SettlementKind::Fee,
        ("T04", _) => SettlementKind::BankPayout,
        (_, "T1107") => SettlementKind::Refund,
        // T1106: a payment reversed by PayPal (a chargeback or a lost
        // claim); T1201 chargeback, T1202 its reversal, T1205 its
        // reimbursement, T1207 a re-presentment rejected, T1208 cancelled.
        (_, "T1106" | "T1201" | "T1202" | "T1205" | "T1207" | "T1208") => SettlementKind::Dispute,
        // T1105 a general hold reversed; T1110/T1111 a hold for a dispute
        // and its release.
        (_, "T1105" | "T1110" | "T1111") | ("T15" | "T21", _) => SettlementKind::Hold,
        ("T12", _) => SettlementKind::Adjustment,
        _ => SettlementKind::Other(event_code.to_owned()),
    }
}

fn refused(transaction_id: &str, what: &str, error: MoneyError) -> GatewayError {
    match error {
        MoneyError::UnknownCurrency => GatewayError::InvalidRequest(format!(
            "PayPal transaction {transaction_id}: {what} is in a currency Skillpay does not support"
        )),
        other => GatewayError::InvalidRequest(format!("PayPal transaction {transaction_id}: {what}: {other}")),
    }
}

/// A transaction as the domain's line.
pub(crate) fn line_of(info: &TransactionInfo) -> Result<SettlementLine, GatewayError> {
    let id = &info.transaction_id;
    let amount = info.transaction_amount.to_signed_money().map_err(|e| refused(id, "its amount", e))?;
    let fee = match &info.fee_amount {
        Some(fee) => {
            let fee = fee.to_signed_money().map_err(|e| refused(id, "its fee", e))?;
            Money::from_minor(
                fee.minor().checked_neg().ok_or_else(|| refused(id, "its fee", MoneyError::Overflow))?,
                fee.currency(),
            )
        }
        None => Money::zero(amount.currency()),
    };
    let amounts = LineAmounts::from_gross(amount, fee)
        .map_err(|e| GatewayError::InvalidRequest(format!("PayPal transaction {id}: {e}")))?;
    let created =
        time_of(&info.transaction_initiation_date).ok_or(CallError::Unreadable("a transaction's initiation date"))?;
    Ok(SettlementLine {
        id: id.clone(),
        kind: kind_of(&info.transaction_event_code),
        amounts,
        source: Some(id.clone()),
        reference: info.paypal_reference_id.clone().filter(|reference| !reference.is_empty()),
        payout: None,
        created,
    })
}

/// A withdrawal line as a bank payout, its amount positive.
pub(crate) fn bank_payout_of(info: &TransactionInfo, line: &SettlementLine) -> GatewayBankPayout {
    let status = match info.transaction_status.as_deref() {
        Some("S") => BankPayoutStatus::Paid,
        Some("P") => BankPayoutStatus::Pending,
        Some("D") => BankPayoutStatus::Failed { code: Some("denied".to_owned()) },
        Some("V") => BankPayoutStatus::Failed { code: Some("reversed".to_owned()) },
        Some(other) => BankPayoutStatus::Other(other.to_owned()),
        None => BankPayoutStatus::Other(String::new()),
    };
    let sent = line.amounts.amount();
    GatewayBankPayout {
        id: line.id.clone(),
        amount: Money::from_minor(sent.minor().saturating_neg(), sent.currency()),
        status,
        created: line.created,
        arrival: None,
    }
}

impl PaypalGateway {
    /// Every transaction booked in `period`: window after window, page
    /// after page, each cut back to its window.
    async fn search(&self, period: SettlementPeriod) -> Result<Vec<(TransactionInfo, SettlementLine)>, GatewayError> {
        let mut found = Vec::new();
        for window in period.windows(Duration::days(SEARCH_WINDOW_DAYS)) {
            let (start, end) = (query_time(window.since(), false), query_time(window.until(), true));
            let mut page = 1;
            loop {
                let path = format!(
                    "{SEARCH_PATH}?start_date={start}&end_date={end}&fields=all&balance_affecting_records_only=Y\
                     &page_size={SEARCH_PAGE_SIZE}&page={page}"
                );
                let answer: SearchResponse =
                    self.client().send(&Call::get(path)).await?.success()?.json("transaction search")?;
                for detail in answer.transaction_details {
                    let line = line_of(&detail.transaction_info)?;
                    if window.contains(line.created) {
                        found.push((detail.transaction_info, line));
                    }
                }
                if page >= answer.total_pages.unwrap_or(1) {
                    break;
                }
                page += 1;
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl SettlementGateway for PaypalGateway {
    /// The period's withdrawals to the bank (T04xx lines).
    async fn payouts(&self, period: SettlementPeriod) -> Result<Vec<GatewayBankPayout>, GatewayError> {
        let found = self.search(period).await?;
        Ok(found
            .iter()
            .filter(|(_, line)| line.kind == SettlementKind::BankPayout)
            .map(|(info, line)| bank_payout_of(info, line))
            .collect())
    }

    async fn lines(&self, period: SettlementPeriod) -> Result<Vec<SettlementLine>, GatewayError> {
        Ok(self.search(period).await?.into_iter().map(|(_, line)| line).collect())
    }

    /// PayPal ties no lines to a withdrawal: always `NotItemised`, without
    /// a call.
    async fn payout_lines(&self, _payout_id: &str) -> Result<PayoutContents, GatewayError> {
        Ok(PayoutContents::NotItemised)
    }

    /// PayPal sends no event about a withdrawal and has no way to read one
    /// by id but Transaction Search over a period: withdrawals are read
    /// with their period's lines.
    async fn payout(&self, _payout_id: &str) -> Result<GatewayBankPayout, GatewayError> {
        Err(GatewayError::UnknownPayment)
    }

    /// `GET /v1/reporting/balances`: available and withheld per currency.
    async fn balances(&self) -> Result<Vec<GatewayBalance>, GatewayError> {
        let answer: BalancesResponse =
            self.client().send(&Call::get(BALANCES_PATH.to_owned())).await?.success()?.json("balances")?;
        answer.balances.iter().map(balance_of).collect()
    }
}

/// One currency's balance; a missing part is zero.
pub(crate) fn balance_of(detail: &BalanceDetail) -> Result<GatewayBalance, GatewayError> {
    let read = |amount: &Option<Amount>| {
        amount.as_ref().map(|a| a.to_signed_money().map_err(|e| refused("balances", "a balance", e))).transpose()
    };
    let available = read(&detail.available_balance)?;
    let withheld = read(&detail.withheld_balance)?;
    let total = read(&detail.total_balance)?;
    let currency = available
        .or(withheld)
        .or(total)
        .map(|money| money.currency())
        .ok_or(CallError::Unreadable("a balance without amounts"))?;
    let zero = Money::zero(currency);
    let (available, held) = (available.unwrap_or(zero), withheld.unwrap_or(zero));
    if held.currency() != currency {
        return Err(GatewayError::InvalidRequest("a PayPal balance mixes currencies".to_owned()));
    }
    Ok(GatewayBalance { available, held })
}

#[cfg(test)]
mod tests {
    use domain::money::Currency;
    use serde_json::{Value, json};

    use super::*;

    fn info(body: Value) -> TransactionInfo {
        serde_json::from_value(body).unwrap()
    }

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    #[test]
    fn a_payment_s_fee_is_what_paypal_kept_and_its_net_what_reached_the_balance() {
        let line = line_of(&info(json!({
            "transaction_id": "3C679366HH908993F", "paypal_reference_id": "5O190127TN364715T",
            "paypal_reference_id_type": "ODR", "transaction_event_code": "T0006",
            "transaction_initiation_date": "2026-10-03T10:15:00+0000", "transaction_updated_date": "2026-10-03T10:15:00+0000",
            "transaction_amount": {"currency_code": "USD", "value": "465.00"},
            "fee_amount": {"currency_code": "USD", "value": "-13.79"}, "transaction_status": "S"
        })))
        .unwrap();
        assert_eq!(line.kind, SettlementKind::Charge);
        assert_eq!(
            (line.amounts.amount(), line.amounts.fee(), line.amounts.net()),
            (usd(46_500), usd(1_379), usd(45_121))
        );
        assert_eq!(
            (line.source.as_deref(), line.reference.as_deref()),
            (Some("3C679366HH908993F"), Some("5O190127TN364715T"))
        );
        assert_eq!(line.created, time_of("2026-10-03T10:15:00Z").unwrap());
    }

    #[test]
    fn a_refund_gives_part_of_the_fee_back_and_names_its_capture() {
        let line = line_of(&info(json!({
            "transaction_id": "1JU08902781691411", "paypal_reference_id": "3C679366HH908993F",
            "paypal_reference_id_type": "TXN", "transaction_event_code": "T1107",
            "transaction_initiation_date": "2026-10-05T08:00:00Z",
            "transaction_amount": {"currency_code": "USD", "value": "-100.00"},
            "fee_amount": {"currency_code": "USD", "value": "2.59"}
        })))
        .unwrap();
        assert_eq!(line.kind, SettlementKind::Refund);
        assert_eq!((line.amounts.fee(), line.amounts.net()), (usd(-259), usd(-9_741)));
        assert_eq!(line.reference.as_deref(), Some("3C679366HH908993F"));
    }

    #[test]
    fn a_transaction_without_a_fee_has_a_zero_fee() {
        let line = line_of(&info(json!({"transaction_id": "W1", "transaction_event_code": "T0400",
            "transaction_initiation_date": "2026-10-31T23:00:00Z",
            "transaction_amount": {"currency_code": "JPY", "value": "-50000"}})))
        .unwrap();
        assert_eq!(line.amounts.fee(), Money::zero(Currency::JPY));
        assert_eq!(line.amounts.net(), Money::from_minor(-50_000, Currency::JPY));
    }

    #[test]
    fn event_codes_map_to_kinds_and_unknown_ones_keep_their_code() {
        let cases = [
            ("T0006", SettlementKind::Charge),
            ("T0003", SettlementKind::Charge),
            ("T0001", SettlementKind::Transfer),
            ("T0106", SettlementKind::Fee),
            ("T1108", SettlementKind::Fee),
            ("T0400", SettlementKind::BankPayout),
            ("T0403", SettlementKind::BankPayout),
            ("T1107", SettlementKind::Refund),
            ("T1106", SettlementKind::Dispute),
            ("T1201", SettlementKind::Dispute),
            ("T1202", SettlementKind::Dispute),
            ("T1110", SettlementKind::Hold),
            ("T1111", SettlementKind::Hold),
            ("T1503", SettlementKind::Hold),
            ("T2101", SettlementKind::Hold),
            ("T1200", SettlementKind::Adjustment),
            ("T0200", SettlementKind::Other("T0200".to_owned())),
            ("T9900", SettlementKind::Other("T9900".to_owned())),
            ("", SettlementKind::Other(String::new())),
        ];
        for (code, expected) in cases {
            assert_eq!(kind_of(code), expected, "{code}");
        }
    }

    #[test]
    fn figures_in_an_unknown_currency_or_with_too_many_digits_are_refused() {
        let with = |amount: Value, fee: Value| {
            line_of(&info(json!({"transaction_id": "X1", "transaction_event_code": "T0006",
                "transaction_initiation_date": "2026-10-03T10:15:00Z", "transaction_amount": amount, "fee_amount": fee})))
        };
        let unknown =
            with(json!({"currency_code": "XOF", "value": "100"}), json!({"currency_code": "XOF", "value": "-1"}));
        assert!(matches!(unknown, Err(GatewayError::InvalidRequest(m)) if m.contains("currency")));
        let precise =
            with(json!({"currency_code": "USD", "value": "10.005"}), json!({"currency_code": "USD", "value": "0"}));
        assert!(matches!(precise, Err(GatewayError::InvalidRequest(_))));
        let mixed =
            with(json!({"currency_code": "USD", "value": "10.00"}), json!({"currency_code": "EUR", "value": "-0.30"}));
        assert!(matches!(mixed, Err(GatewayError::InvalidRequest(_))));
    }

    #[test]
    fn a_withdrawal_is_a_bank_payout_of_its_amount_with_its_status() {
        let withdrawal = info(json!({"transaction_id": "W1", "transaction_event_code": "T0400",
            "transaction_initiation_date": "2026-10-31T23:00:00Z", "transaction_status": "S",
            "transaction_amount": {"currency_code": "USD", "value": "-1250.00"}}));
        let payout = bank_payout_of(&withdrawal, &line_of(&withdrawal).unwrap());
        assert_eq!(
            (payout.id.as_str(), payout.amount, payout.status.clone()),
            ("W1", usd(125_000), BankPayoutStatus::Paid)
        );
        assert_eq!(payout.arrival, None);
        for (status, expected) in [
            ("P", BankPayoutStatus::Pending),
            ("D", BankPayoutStatus::Failed { code: Some("denied".to_owned()) }),
            ("V", BankPayoutStatus::Failed { code: Some("reversed".to_owned()) }),
        ] {
            let other = TransactionInfo { transaction_status: Some(status.to_owned()), ..withdrawal.clone() };
            assert_eq!(bank_payout_of(&other, &line_of(&other).unwrap()).status, expected);
        }
    }

    #[test]
    fn times_are_read_with_or_without_the_offset_s_colon_and_queried_in_whole_seconds() {
        assert_eq!(time_of("2026-10-03T10:15:00+0000"), time_of("2026-10-03T10:15:00Z"));
        assert_eq!(time_of("2026-10-03T12:15:00+02:00"), time_of("2026-10-03T10:15:00Z"));
        assert_eq!(time_of("yesterday"), None);
        let at = time_of("2026-10-03T10:15:00.250Z").unwrap();
        assert_eq!(query_time(at, false), "2026-10-03T10:15:00Z");
        assert_eq!(query_time(at, true), "2026-10-03T10:15:01Z");
    }

    #[test]
    fn a_balance_holds_what_is_available_and_what_is_withheld() {
        let detail: BalanceDetail = serde_json::from_value(json!({"currency": "USD", "primary": true,
            "total_balance": {"currency_code": "USD", "value": "1200.00"},
            "available_balance": {"currency_code": "USD", "value": "1000.00"},
            "withheld_balance": {"currency_code": "USD", "value": "200.00"}}))
        .unwrap();
        assert_eq!(balance_of(&detail).unwrap(), GatewayBalance { available: usd(100_000), held: usd(20_000) });
        let bare: BalanceDetail = serde_json::from_value(json!({"currency": "EUR",
            "total_balance": {"currency_code": "EUR", "value": "5.00"}}))
        .unwrap();
        let zero = Money::zero(Currency::EUR);
        assert_eq!(balance_of(&bare).unwrap(), GatewayBalance { available: zero, held: zero });
    }
}
