//! The two tables every detail page ends with: the object's timeline and
//! its ledger lines.

use domain::money::Money;
use maud::{Markup, html};
use web_ports::console::{JournalLine, TimelineEntry};

use super::layout::{money, time};

/// Events, webhooks and console actions, oldest first.
pub fn timeline_table(timeline: &[TimelineEntry]) -> Markup {
    html! {
        div.table-wrap {
            table #timeline {
                thead { tr { th { "When" } th { "What" } th { "Detail" } } }
                tbody {
                    @for t in timeline { tr { td { (time(t.at)) } td { (t.what) } td { (t.detail) } } }
                    @if timeline.is_empty() { tr { td colspan="3" .muted { "Nothing yet." } } }
                }
            }
        }
    }
}

/// Ledger lines as debits and credits.
pub fn ledger_table(lines: &[JournalLine]) -> Markup {
    html! {
        div.table-wrap {
            table #ledger {
                thead { tr { th { "Posted" } th { "Journal" } th { "Account" } th { "Debit" } th { "Credit" } } }
                tbody {
                    @for line in lines {
                        tr {
                            td { (time(line.posted_at)) } td { (line.kind) } td { code { (line.account) } }
                            td.num { @if line.amount.minor() > 0 { (money(line.amount)) } }
                            td.num { @if line.amount.minor() < 0 { (money(Money::from_minor(line.amount.minor().saturating_neg(), line.amount.currency()))) } }
                        }
                    }
                    @if lines.is_empty() { tr { td colspan="5" .muted { "No journal: no money has moved." } } }
                }
            }
        }
    }
}
