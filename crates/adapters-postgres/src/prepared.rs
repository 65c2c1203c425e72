//! Keeping writes prepared.
//!
//! diesel caches a prepared statement per connection only when the
//! statement's Rust type alone fixes its SQL. Every `UPDATE`, every upsert
//! and every `INSERT` (a column value may be `DEFAULT`) fails that test, so
//! diesel sends each of them as a fresh unnamed statement that PostgreSQL
//! parses, rewrites and plans again on every call: on the payment paths
//! that was most of the database's CPU beyond the commits themselves.
//!
//! [`Prepared`] marks such a statement safe to cache. diesel then keys the
//! cache by the statement's SQL text and bind types (never by its type for
//! these), so two statements share a prepared plan only when they are the
//! same SQL: a changeset that leaves out a field, or a batch of another
//! length, is a different entry. Use it for statements whose SQL takes a
//! bounded number of shapes (not for `IN` lists of any length).
//!
//! Only diesel's loading path (`get_result`, `get_results`, `load`) takes
//! the statement by value and so asks `Prepared`; `execute` passes it by
//! reference, and diesel's impl for references judges the statement by its
//! own rule again. A prepared write therefore ends in `RETURNING` (a key
//! column) and is run with `get_result(s)`.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// `statement`, prepared once per connection and per SQL text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prepared<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the cache key is then the SQL text with its bind types.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}

/// `.prepared()` on any statement.
pub(crate) trait PreparedExt: Sized {
    /// See [`Prepared`].
    fn prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<Q: QueryFragment<Pg>> PreparedExt for Q {}

/// A row loaded without reading any of its columns: for a hand-written
/// write run on the loading path only to stay prepared, whose `RETURNING`
/// answers nothing the caller needs.
#[derive(diesel::QueryableByName)]
pub(crate) struct Unread {}
