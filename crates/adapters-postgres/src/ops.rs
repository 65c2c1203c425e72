//! Operational figures for the metrics scrape: each an indexed query.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use domain::ports::{OpsGauges, OpsQueries, StoreError};

use crate::errors::store_error;
use crate::pool::PgStore;

#[derive(QueryableByName)]
struct StatusCount {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Lags {
    #[diesel(sql_type = BigInt)]
    outbox: i64,
    #[diesel(sql_type = BigInt)]
    delivery: i64,
    #[diesel(sql_type = BigInt)]
    dead: i64,
    #[diesel(sql_type = BigInt)]
    webhook: i64,
}

const LAGS_SQL: &str = "SELECT
    coalesce((SELECT extract(epoch FROM now() - min(created_at))::bigint FROM outbox_events WHERE routed_at IS NULL), 0) AS outbox,
    coalesce((SELECT extract(epoch FROM now() - min(next_attempt_at))::bigint FROM event_deliveries
              WHERE status = 'pending' AND next_attempt_at <= now()), 0) AS delivery,
    (SELECT count(*) FROM event_deliveries WHERE status = 'dead') AS dead,
    coalesce((SELECT extract(epoch FROM now() - min(created_at))::bigint FROM payment_webhook_logs WHERE NOT processed), 0)
        AS webhook";

#[async_trait]
impl OpsQueries for PgStore {
    async fn gauges(&self) -> Result<OpsGauges, StoreError> {
        self.run(|conn| {
            let statuses: Vec<StatusCount> = diesel::sql_query(
                "SELECT status, sum(payments)::bigint AS n FROM payment_stats_daily GROUP BY status ORDER BY status",
            )
            .load(conn)
            .map_err(store_error)?;
            let lags: Lags = diesel::sql_query(LAGS_SQL).get_result(conn).map_err(store_error)?;
            Ok(OpsGauges {
                payments_by_status: statuses.into_iter().map(|s| (s.status, s.n)).collect(),
                outbox_lag_secs: lags.outbox,
                delivery_lag_secs: lags.delivery,
                dead_deliveries: lags.dead,
                webhook_lag_secs: lags.webhook,
            })
        })
        .await
    }
}
