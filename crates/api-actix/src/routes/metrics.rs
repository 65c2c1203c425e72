//! `GET /metrics`: Prometheus text format — HTTP request rate and latency
//! by route and status, payments by status, outbox, delivery and webhook
//! lag.

use actix_web::{HttpRequest, HttpResponse, get, web};
use prometheus::{Encoder, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::AppState;
use crate::error::ApiError;

fn gauges(ops: &domain::ports::OpsGauges) -> Result<Registry, prometheus::Error> {
    let registry = Registry::new();
    let payments = IntGaugeVec::new(Opts::new("skillpay_payments", "Payments by status"), &["status"])?;
    for (status, n) in &ops.payments_by_status {
        payments.with_label_values(&[status.as_str()]).set(*n);
    }
    registry.register(Box::new(payments))?;
    for (name, help, value) in [
        ("skillpay_outbox_lag_seconds", "Age of the oldest outbox event not yet routed", ops.outbox_lag_secs),
        ("skillpay_event_delivery_lag_seconds", "Age of the oldest due event delivery", ops.delivery_lag_secs),
        ("skillpay_event_deliveries_dead", "Event deliveries dead-lettered", ops.dead_deliveries),
        ("skillpay_webhook_lag_seconds", "Age of the oldest unprocessed gateway webhook", ops.webhook_lag_secs),
    ] {
        let gauge = IntGauge::new(name, help)?;
        gauge.set(value);
        registry.register(Box::new(gauge))?;
    }
    Ok(registry)
}

/// Metrics for Prometheus (bearer `SKILLPAY_METRICS_TOKEN` when set).
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.metrics.token {
        let expected = format!("Bearer {token}");
        let given = req.headers().get(actix_web::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let matches = given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes()));
        if !matches {
            return Err(ApiError::AuthenticationRequired);
        }
    }
    let ops = state.ops.gauges().await.map_err(crate::convert::store)?;
    let scrape = gauges(&ops).map_err(|_| ApiError::Internal)?;
    let mut families = state.metrics.registry.gather();
    families.extend(scrape.gather());
    let mut body = Vec::new();
    TextEncoder::new().encode(&families, &mut body).map_err(|_| ApiError::Internal)?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body))
}

/// Compares in time independent of where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
