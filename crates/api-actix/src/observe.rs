//! Request ids, one log line per request, and HTTP metrics.
//!
//! Every request runs inside a tracing span carrying its request id (the
//! client's `X-Request-Id` when it is a short token of safe characters, a
//! new uuid otherwise), so every log line it causes names it; the id is
//! echoed in the response's `X-Request-Id`. Its duration is observed in a
//! Prometheus histogram by method, route pattern (never the raw path, so
//! ids do not explode the label set) and status.

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use prometheus::{HistogramOpts, HistogramVec, Registry};
use tracing::Instrument;

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";

/// The service's metrics registry and HTTP histogram.
#[derive(Clone)]
pub struct Metrics {
    /// Where every metric is registered.
    pub registry: Registry,
    requests: HistogramVec,
    /// When set, `/metrics` wants `Authorization: Bearer <token>`.
    pub token: Option<String>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// A registry with the HTTP request histogram; `/metrics` guarded by
    /// `token` when given.
    pub fn new(token: Option<String>) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = HistogramVec::new(
            HistogramOpts::new("skillpay_http_request_duration_seconds", "HTTP requests by method, route and status")
                .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["method", "route", "status"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        Ok(Self { registry, requests, token })
    }
}

fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 64)
        .filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// The middleware (install with `actix_web::middleware::from_fn`).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = request_id(&req);
    let method = req.method().to_string();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let metrics = req.app_data::<actix_web::web::Data<Metrics>>().cloned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let started = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    if let Some(metrics) = metrics {
        metrics
            .requests
            .with_label_values(&[method.as_str(), route.as_str(), &status.to_string()])
            .observe(elapsed.as_secs_f64());
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static(REQUEST_ID), value);
    }
    if route != "/healthz" && route != "/metrics" {
        let duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        // Written once the answer is on its way: this worker runs the task
        // right after it has sent the response, so formatting and scrubbing
        // the line is no part of the
        // client's wait.
        actix_web::rt::spawn(async move { span.in_scope(|| tracing::info!(status, duration_ms, "request finished")) });
    }
    Ok(res)
}
