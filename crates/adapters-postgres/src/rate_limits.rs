//! Rate-limit counters on PostgreSQL: one row per key and window, counted
//! with an upsert, so every instance sees the same count.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use domain::ports::{RateLimitStore, StoreError};

use crate::errors::{corrupt, store_error};
use crate::pool::PgStore;
use crate::prepared::PreparedExt;
use crate::schema::rate_limit_counters as counters;

#[async_trait]
impl RateLimitStore for PgStore {
    async fn hit(&self, key: String, window_start: DateTime<Utc>) -> Result<u32, StoreError> {
        self.run(move |conn| {
            let hits: i32 = diesel::insert_into(counters::table)
                .values((counters::key.eq(&key), counters::window_start.eq(window_start), counters::hits.eq(1)))
                .on_conflict((counters::key, counters::window_start))
                .do_update()
                .set(counters::hits.eq(counters::hits + excluded(counters::hits)))
                .returning(counters::hits)
                .prepared()
                .get_result(conn)
                .map_err(store_error)?;
            u32::try_from(hits).map_err(|_| corrupt("hit count"))
        })
        .await
    }

    async fn hits(&self, key: String, window_start: DateTime<Utc>) -> Result<u32, StoreError> {
        self.run(move |conn| {
            let hits: Option<i32> = counters::table
                .filter(counters::key.eq(&key).and(counters::window_start.eq(window_start)))
                .select(counters::hits)
                .first(conn)
                .optional()
                .map_err(store_error)?;
            u32::try_from(hits.unwrap_or(0)).map_err(|_| corrupt("hit count"))
        })
        .await
    }

    async fn reap(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.run(move |conn| {
            let deleted = diesel::delete(counters::table.filter(counters::window_start.lt(before)))
                .execute(conn)
                .map_err(store_error)?;
            u64::try_from(deleted).map_err(|_| corrupt("count"))
        })
        .await
    }
}
