//! CSV exports of a list's current filter, page after page up to a cap.
//! The `csv` crate does the quoting; this module decides what a cell may
//! start with.

use std::future::Future;

use actix_web::HttpResponse;
use actix_web::http::header;
use domain::money::Money;
use domain::paging::{Page, PageRequest};

use super::error::ConsoleError;

/// Rows an export holds at most; narrow the filter for more.
pub const MAX_ROWS: usize = 10_000;

/// What a spreadsheet may take for the start of a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One cell of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Free text (names, reasons, ids): one that could start a formula is
    /// prefixed with `'`, so a spreadsheet never runs a cell.
    Text(String),
    /// An amount, in major units: written as it is, negative ones too, so a
    /// spreadsheet reads a number. Only a [`Money`] can be one, so no text
    /// passes through unguarded.
    Amount(Money),
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::Text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::Text(text.to_owned())
    }
}

impl From<Money> for Cell {
    fn from(amount: Money) -> Self {
        Cell::Amount(amount)
    }
}

impl Cell {
    /// The cell as written (before quoting).
    fn written(&self) -> String {
        match self {
            Cell::Text(text) if text.starts_with(FORMULA_STARTS) => format!("'{text}"),
            Cell::Text(text) => text.clone(),
            Cell::Amount(amount) => amount.to_major_string(),
        }
    }
}

/// `columns` then `rows`, as CSV text (`\n` line ends).
fn write<'a>(columns: &str, rows: impl IntoIterator<Item = &'a [Cell]>) -> Result<String, ::csv::Error> {
    let mut writer = ::csv::WriterBuilder::new().terminator(::csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    writer.write_record(columns.split(','))?;
    for row in rows {
        writer.write_record(row.iter().map(Cell::written))?;
    }
    let bytes = writer.into_inner().map_err(|error| ::csv::Error::from(error.into_error()))?;
    // Every field written was a `str`, so the bytes are UTF-8.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `name.csv` with `columns` and one row per item `read` gives, from the
/// page `first` describes (its filter, order and days) on, at most
/// [`MAX_ROWS`] rows.
pub async fn export<T, R, Fut>(
    name: &str,
    columns: &str,
    first: PageRequest,
    mut read: R,
    row: impl Fn(&T) -> Vec<Cell>,
) -> Result<HttpResponse, ConsoleError>
where
    R: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, ConsoleError>>,
{
    let mut rows = Vec::new();
    let mut page = PageRequest { after: None, limit: domain::paging::MAX_PAGE_LIMIT, ..first };
    loop {
        let result = read(page).await?;
        rows.extend(result.items.iter().map(&row));
        match result.next {
            Some(cursor) if rows.len() < MAX_ROWS => page = PageRequest { after: Some(cursor), ..page },
            _ => break,
        }
    }
    respond(name, columns, &rows)
}

/// `name.csv` with `columns` and `rows`, as a download (for exports that
/// read their rows page by page themselves, keeping to [`MAX_ROWS`]).
pub fn respond(name: &str, columns: &str, rows: &[Vec<Cell>]) -> Result<HttpResponse, ConsoleError> {
    let out = write(columns, rows.iter().map(Vec::as_slice)).map_err(|error| {
        tracing::error!(%error, "writing a CSV export");
        ConsoleError::Internal
    })?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")))
        .body(out))
}

#[cfg(test)]
mod tests {
    use domain::money::Currency;

    use super::*;

    fn usd(minor: i64) -> Cell {
        Cell::Amount(Money::from_minor(minor, Currency::from_code("USD").unwrap()))
    }

    #[test]
    fn a_negative_amount_stays_a_number_and_a_formula_is_neutralised() {
        let row = [usd(-1250), Cell::from("=HYPERLINK(\"http://x\")"), Cell::from("-12.50"), usd(300)];
        let text = write("amount,reason,note,fee", [row.as_slice()]).unwrap();
        assert_eq!(text, "amount,reason,note,fee\n-12.50,\"'=HYPERLINK(\"\"http://x\"\")\",'-12.50,3.00\n");

        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(record.get(0).unwrap().parse::<rust_decimal::Decimal>().unwrap().to_string(), "-12.50");
        assert_eq!(record.get(1), Some("'=HYPERLINK(\"http://x\")"));
    }

    #[test]
    fn every_formula_start_is_neutralised_and_other_text_kept() {
        for text in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(Cell::from(text).written(), format!("'{text}"), "{text:?}");
        }
        for text in ["plain", "1-2", "a=b", "", "pay_01"] {
            assert_eq!(Cell::from(text).written(), text);
        }
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted() {
        let row = [Cell::from("a,b"), Cell::from("say \"hi\""), Cell::from("two\nlines")];
        let text = write("x,y,z", [row.as_slice()]).unwrap();
        assert_eq!(text, "x,y,z\n\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\n");
    }
}
