//! Background workers and the shutdown sequence.
//!
//! On SIGTERM or SIGINT: readiness answers 503 at once; after the drain
//! period (load balancers notice and stop sending traffic) the server stops
//! accepting connections and finishes the requests in flight; workers stop
//! after the item they are on; the process exits within the shutdown
//! timeout.

use std::time::Duration;

use api_actix::AppState;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Config;

/// The running background workers.
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts the sweeper, the event delivery worker and the refresh of
    /// the stored gateway configurations.
    pub fn start(state: &AppState, config: &Config) -> Workers {
        let (stop, stopping) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(crate::run_event_delivery(
                state.events.clone(),
                state.receipts.clone(),
                state.mail.clone(),
                config.event_poll_ms,
                stopping.clone(),
            )),
            tokio::spawn(crate::run_gateway_refresh(
                state.gateway_configs.clone(),
                config.gateway_refresh_secs,
                stopping.clone(),
            )),
            tokio::spawn(crate::run_sweeper(
                state.clone(),
                crate::sweep_policy(config),
                config.reconcile_interval_secs,
                config.idempotency_ttl_hours,
                stopping,
            )),
        ];
        Workers { stop, tasks }
    }

    /// Asks every worker to stop after its current item and waits up to
    /// `timeout` for them; answers whether all stopped in time.
    pub async fn stop(self, timeout: Duration) -> bool {
        let _ = self.stop.send(true);
        tokio::time::timeout(timeout, futures::future::join_all(self.tasks)).await.is_ok()
    }
}

/// Waits for the next tick of `ticker`, or for the stop signal; `false`
/// when stopping. A worker calls it between items, so an item in progress
/// always finishes.
pub async fn next_tick(ticker: &mut tokio::time::Interval, stopping: &mut watch::Receiver<bool>) -> bool {
    if *stopping.borrow() {
        return false;
    }
    tokio::select! {
        _ = ticker.tick() => !*stopping.borrow(),
        _ = stopping.changed() => false,
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn terminated() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// The shutdown sequence: readiness 503 now, serve on for `drain`, then
/// stop accepting and finish in-flight requests (the server's own timeout
/// bounds them) while the workers finish their items.
pub async fn shut_down(
    state: &AppState,
    server: actix_web::dev::ServerHandle,
    workers: Workers,
    drain: Duration,
    timeout: Duration,
) {
    state.lifecycle.start_draining();
    tracing::info!(drain_secs = drain.as_secs(), "shutting down: readiness is 503, draining");
    tokio::time::sleep(drain).await;
    let (_, workers_stopped) = tokio::join!(server.stop(true), workers.stop(timeout));
    if workers_stopped {
        tracing::info!("stopped: requests finished, workers done");
    } else {
        tracing::warn!(timeout_secs = timeout.as_secs(), "workers did not finish in time; exiting anyway");
    }
}
