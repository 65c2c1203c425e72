//! CSV exports of a list's current filter, page after page up to a cap.

use std::future::Future;

use actix_web::HttpResponse;
use actix_web::http::header;
use domain::paging::{Page, PageRequest};

use super::error::ConsoleError;

/// Rows an export holds at most; narrow the filter for more.
pub const MAX_ROWS: usize = 10_000;

/// Quotes a CSV field when it needs it; a leading formula character is
/// neutralised so a spreadsheet never runs a cell.
pub fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

/// `name.csv` with `columns` and one row per item `read` gives, from the
/// page `first` describes (its filter, order and days) on, at most
/// [`MAX_ROWS`] rows.
pub async fn export<T, R, Fut>(
    name: &str,
    columns: &str,
    first: PageRequest,
    mut read: R,
    row: impl Fn(&T) -> Vec<String>,
) -> Result<HttpResponse, ConsoleError>
where
    R: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, ConsoleError>>,
{
    let mut out = format!("{columns}\n");
    let mut page = PageRequest { after: None, limit: domain::paging::MAX_PAGE_LIMIT, ..first };
    let mut rows = 0;
    loop {
        let result = read(page).await?;
        for item in &result.items {
            out.push_str(&row(item).iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        rows += result.items.len();
        match result.next {
            Some(cursor) if rows < MAX_ROWS => page = PageRequest { after: Some(cursor), ..page },
            _ => break,
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")))
        .body(out))
}
