//! The gateways' payouts to the platform's bank on the reconciliation page:
//! each payout's lines summed into the columns an accountant reads
//! (charges, refunds, disputes, transfers, fees, other), which add up to
//! what the payout sent to the bank.

use domain::gateway_config::GatewayMode;
use domain::money::Money;
use domain::ports::PayoutSummary;
use maud::{Markup, html};

use super::layout::{status, time};

/// A payout's lines summed per column, in minor units of the payout's
/// currency, signed as the gateway's balance sees them (money in
/// positive). `net` is the sum of the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Gross amounts of charges.
    pub charges: i64,
    /// Refunds, and refunds that failed and came back.
    pub refunds: i64,
    /// Dispute debits, and their reversals when won.
    pub disputes: i64,
    /// Transfers to instructors, and their reversals.
    pub transfers: i64,
    /// The fees the gateway kept on every line, and its fee lines.
    pub fees: i64,
    /// Adjustments, holds, bank payout reversals and kinds Skillpay does
    /// not know.
    pub other: i64,
    /// What the lines left in the balance: what the payout sent to the
    /// bank when it is complete.
    pub net: i64,
}

impl Totals {
    /// The sums of `by_kind` (kind, sum of nets, sum of fees, lines). The
    /// payout's own `bank_payout` line takes out what the others put in,
    /// so it is left out.
    pub fn of(by_kind: &[(String, i64, i64, i64)]) -> Totals {
        let mut t = Totals::default();
        for (kind, net, fee, _) in by_kind {
            if kind == "bank_payout" {
                continue;
            }
            let gross = net.saturating_add(*fee);
            let column = match kind.as_str() {
                "charge" => &mut t.charges,
                "refund" | "refund_failure" => &mut t.refunds,
                "dispute" => &mut t.disputes,
                "transfer" | "transfer_reversal" => &mut t.transfers,
                "fee" => &mut t.fees,
                _ => &mut t.other,
            };
            *column = column.saturating_add(gross);
            t.fees = t.fees.saturating_sub(*fee);
            t.net = t.net.saturating_add(*net);
        }
        t
    }
}

/// The address of a payout's lines.
pub fn lines_url(s: &PayoutSummary) -> String {
    let query = [("gateway", s.gateway.as_str()), ("payout", s.payout.id.as_str())];
    format!("/admin/reconciliation/lines?{}", serde_urlencoded::to_string(query).unwrap_or_default())
}

/// The payouts table, newest first.
pub fn table(payouts: &[PayoutSummary]) -> Markup {
    html! {
        div.table-wrap {
            table #bank-payouts {
                thead { tr {
                    th { "Created" } th { "Arrival" } th { "Gateway" } th { "Mode" } th { "Payout" } th { "Status" }
                    th { "Currency" } th { "Paid out" } th { "Charges" } th { "Refunds" } th { "Disputes" }
                    th { "Transfers" } th { "Fees" } th { "Other" } th { "Net of lines" } th { "Matched" } th { "Differing" }
                } }
                tbody {
                    @for s in payouts { (row(s)) }
                    @if payouts.is_empty() { tr { td colspan="17" .muted { "No payouts to the bank read yet." } } }
                }
            }
        }
    }
}

fn row(s: &PayoutSummary) -> Markup {
    let currency = s.payout.amount.currency();
    let amount = |minor: i64| Money::from_minor(minor, currency).to_major_string();
    let t = Totals::of(&s.by_kind);
    html! {
        tr data-bank-payout=(s.payout.id) {
            td { (time(s.payout.created)) }
            td { (s.payout.arrival.map_or("—".to_owned(), time)) }
            td { (s.gateway.as_str()) }
            td { (GatewayMode::of(s.livemode).as_str()) }
            td { a href=(lines_url(s)) { code { (s.payout.id) } } }
            td { (status(s.payout.status.name())) }
            td { (currency.code()) }
            td.num { (s.payout.amount.to_major_string()) }
            @if s.by_kind.is_empty() {
                td colspan="7" .muted {
                    @if s.itemised { "No lines stored for it." } @else { "Not itemised by the gateway: its lines are reconciled by day." }
                }
            } @else {
                td.num { (amount(t.charges)) }
                td.num { (amount(t.refunds)) }
                td.num { (amount(t.disputes)) }
                td.num { (amount(t.transfers)) }
                td.num { (amount(t.fees)) }
                td.num { (amount(t.other)) }
                td.num.net { (amount(t.net)) }
            }
            td.num { (s.matched) }
            td.num { @if s.differing > 0 { strong.bad { (s.differing) } } @else { (s.differing) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str, net: i64, fee: i64) -> (String, i64, i64, i64) {
        (name.to_owned(), net, fee, 1)
    }

    #[test]
    fn the_columns_add_up_to_what_the_payout_sent_and_its_own_line_is_left_out() {
        // Two 49.99 charges (1.75 kept on each), a 10.00 refund, and the
        // payout's own line taking the 86.48 out.
        let by_kind = [kind("bank_payout", -8648, 0), kind("charge", 9648, 350), kind("refund", -1000, 0)];
        let t = Totals::of(&by_kind);
        assert_eq!(
            t,
            Totals { charges: 9998, refunds: -1000, disputes: 0, transfers: 0, fees: -350, other: 0, net: 8648 }
        );
    }

    #[test]
    fn fee_lines_disputes_transfers_and_unknown_kinds_each_have_their_column() {
        let by_kind = [
            kind("dispute", -6499, 1500),
            kind("fee", -200, 0),
            kind("transfer", -5000, 0),
            kind("transfer_reversal", 5000, 0),
            kind("refund_failure", 300, 0),
            kind("hold", -100, 0),
            kind("other:topup", 1000, 0),
        ];
        let t = Totals::of(&by_kind);
        assert_eq!((t.disputes, t.fees, t.transfers, t.refunds, t.other), (-4999, -1700, 0, 300, 900));
        let columns = t.charges + t.refunds + t.disputes + t.transfers + t.fees + t.other;
        assert_eq!(columns, t.net, "the columns add up to the net");
        assert_eq!(t.net, -6499 - 200 - 5000 + 5000 + 300 - 100 + 1000);
    }

    #[test]
    fn sums_beyond_range_saturate_instead_of_wrapping() {
        let t = Totals::of(&[kind("charge", i64::MAX, 1), kind("charge", 5, 0)]);
        assert_eq!(t.charges, i64::MAX);
    }
}
