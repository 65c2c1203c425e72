//! Cursor pagination with a stable order: newest first, ties broken by id.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Largest page a caller may ask for.
pub const MAX_PAGE_LIMIT: u32 = 100;
/// The end of year 9999 in microseconds since the epoch.
const MAX_CURSOR_MICROS: i64 = 253_402_300_799_999_999;
/// Page size when the caller does not say.
pub const DEFAULT_PAGE_LIMIT: u32 = 20;

/// Position after the last item of a page: `(created_at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Creation time of the last item seen.
    pub created_at: DateTime<Utc>,
    /// Id of the last item seen.
    pub id: Uuid,
}

/// A cursor string that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed cursor")]
pub struct MalformedCursor;

impl Cursor {
    /// Opaque string form: `<microseconds>.<uuid hex>`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at.timestamp_micros(), self.id.simple())
    }

    /// Parses [`Cursor::encode`]'s output.
    pub fn decode(text: &str) -> Result<Cursor, MalformedCursor> {
        let (micros, id) = text.split_once('.').ok_or(MalformedCursor)?;
        let micros: i64 = micros.parse().map_err(|_| MalformedCursor)?;
        // Cursors we hand out name creation times; anything outside
        // 1970..10000 cannot be one (and PostgreSQL could not compare it).
        if !(0..=MAX_CURSOR_MICROS).contains(&micros) {
            return Err(MalformedCursor);
        }
        let created_at = DateTime::from_timestamp_micros(micros).ok_or(MalformedCursor)?;
        let id = Uuid::try_parse(id).map_err(|_| MalformedCursor)?;
        Ok(Cursor { created_at, id })
    }
}

/// Which way a list runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Newest first (the default).
    #[default]
    NewestFirst,
    /// Oldest first: a work queue's order.
    OldestFirst,
}

/// Which page to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Continue after this item; `None` for the first page.
    pub after: Option<Cursor>,
    /// Items per page, 1 to [`MAX_PAGE_LIMIT`].
    pub limit: u32,
    /// Which way the list runs.
    pub order: SortOrder,
    /// Only items created at or after this time.
    pub created_from: Option<DateTime<Utc>>,
    /// Only items created before this time.
    pub created_until: Option<DateTime<Utc>>,
}

impl PageRequest {
    /// A page request, newest first over all time, with the limit clamped
    /// into range.
    pub fn new(after: Option<Cursor>, limit: Option<u32>) -> Self {
        let limit = limit.unwrap_or(DEFAULT_PAGE_LIMIT).clamp(1, MAX_PAGE_LIMIT);
        Self { after, limit, order: SortOrder::NewestFirst, created_from: None, created_until: None }
    }

    /// The same request running the other way or over a time window.
    pub fn ordered(
        self,
        order: SortOrder,
        created_from: Option<DateTime<Utc>>,
        created_until: Option<DateTime<Utc>>,
    ) -> Self {
        Self { order, created_from, created_until, ..self }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::new(None, None)
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in the order asked for.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor { created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(), id: Uuid::nil() };
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        for bad in [
            "",
            "abc",
            "1.2",
            "x.00000000000000000000000000000000",
            "-210866803200000001.00000000000000000000000000000000",
            "253402300800000000.00000000000000000000000000000000",
        ] {
            assert_eq!(Cursor::decode(bad), Err(MalformedCursor), "{bad:?}");
        }
    }

    #[test]
    fn page_limits_are_clamped() {
        assert_eq!(PageRequest::new(None, Some(0)).limit, 1);
        assert_eq!(PageRequest::new(None, Some(10_000)).limit, MAX_PAGE_LIMIT);
        assert_eq!(PageRequest::default().limit, DEFAULT_PAGE_LIMIT);
    }
}
