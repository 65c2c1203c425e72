//! Keyset pages over `(created_at, id)`: every list reads the same way.

/// Applies a [`domain::paging::PageRequest`] to a boxed query on `$table`:
/// its creation-time window, then its cursor and order, newest or oldest
/// first. The `(created_at, id)` pair is unique, so no row is skipped or
/// shown twice across pages, whatever is inserted meanwhile.
macro_rules! keyset_page {
    ($query:expr, $table:ident, $page:expr) => {{
        let page: domain::paging::PageRequest = $page;
        let mut query = $query;
        if let Some(from) = page.created_from {
            query = query.filter($table::created_at.ge(from));
        }
        if let Some(until) = page.created_until {
            query = query.filter($table::created_at.lt(until));
        }
        match page.order {
            domain::paging::SortOrder::NewestFirst => {
                if let Some(after) = page.after {
                    query = query.filter(
                        $table::created_at
                            .lt(after.created_at)
                            .or($table::created_at.eq(after.created_at).and($table::id.lt(after.id))),
                    );
                }
                query.order(($table::created_at.desc(), $table::id.desc()))
            }
            domain::paging::SortOrder::OldestFirst => {
                if let Some(after) = page.after {
                    query = query.filter(
                        $table::created_at
                            .gt(after.created_at)
                            .or($table::created_at.eq(after.created_at).and($table::id.gt(after.id))),
                    );
                }
                query.order(($table::created_at.asc(), $table::id.asc()))
            }
        }
    }};
}

pub(crate) use keyset_page;
