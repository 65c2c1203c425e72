//! Revenue charts drawn on the server as SVG: no script, no library.

use chrono::NaiveDate;
use maud::{Markup, html};

const WIDTH: i64 = 720;
const HEIGHT: i64 = 200;
const LEFT: i64 = 70;
const BOTTOM: i64 = 24;

/// A bar per day of `days` (oldest first), heights in minor units, labelled
/// in major units of `currency` with `exponent` minor digits.
pub fn daily_bars(title: &str, days: &[(NaiveDate, i64)], exponent: u32) -> Markup {
    let max = days.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let count = i64::try_from(days.len()).unwrap_or(1).max(1);
    let plot_width = WIDTH - LEFT - 8;
    let plot_height = HEIGHT - BOTTOM - 8;
    let slot = plot_width / count;
    let bar = (slot - 2).max(1);
    let scale = 10_i64.pow(exponent);
    let label = |minor: i64| format!("{}", minor / scale);
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
                title { (title) }
                line x1=(LEFT) y1=(HEIGHT - BOTTOM) x2=(WIDTH) y2=(HEIGHT - BOTTOM) stroke="#5b6478" {}
                text x=(LEFT - 6) y=(HEIGHT - BOTTOM) text-anchor="end" font-size="11" fill="#5b6478" { "0" }
                text x=(LEFT - 6) y="16" text-anchor="end" font-size="11" fill="#5b6478" { (label(max)) }
                @for (i, (day, value)) in days.iter().enumerate() {
                    @let i = i64::try_from(i).unwrap_or(0);
                    @let h = value.max(&0) * plot_height / max;
                    @let x = LEFT + i * slot + 1;
                    rect x=(x) y=(HEIGHT - BOTTOM - h) width=(bar) height=(h) fill="#2458d6" {
                        title { (day) ": " (label(*value)) }
                    }
                    @if i == 0 || i == count - 1 {
                        text x=(x) y=(HEIGHT - 6) font-size="11" fill="#5b6478" text-anchor=(if i == 0 { "start" } else { "end" }) {
                            (day.format("%b %d"))
                        }
                    }
                }
            }
            figcaption.muted { (title) }
        }
    }
}
