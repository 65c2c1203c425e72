//! The `skillpay` binary's library half: configuration, wiring of adapters
//! into the use cases, and the HTTP server. `main.rs` only parses the
//! command line; tests start the same server through [`start_server`].
//!
//! Error policy: `anyhow` with context on every infrastructure call.

pub mod config;
pub mod demo;
pub mod gateway_reload;
pub mod lifecycle;
pub mod logging;
pub mod reseal;
pub mod tls;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpServer, middleware};
use adapters_paypal::{PaypalClient, PaypalConfig, Secret as PaypalSecret};
use adapters_postgres::{Keyring, PgStore, PoolSettings};
use adapters_stripe::StripeConfig;
use anyhow::Context;
use api_actix::AppState;
use api_actix::auth::AuthConfig;
use domain::breaker::BreakerPolicy;
use domain::ports::{Gateways, SystemClock, TimeOrderedIds};
use domain::usecases::catalog::CatalogService;
use domain::usecases::coupons::CouponService;
use domain::usecases::disputes::{DisputeFeePolicy, DisputePorts, DisputeService};
use domain::usecases::events::{EventPorts, EventService};
use domain::usecases::gateway_configs::GatewayConfigService;
use domain::usecases::payments::{PaymentPolicy, PaymentPorts, PaymentService};
use domain::usecases::payouts::{PayoutPolicy, PayoutPorts, PayoutService};
use domain::usecases::reconciliation::SweepPolicy;
use domain::usecases::refunds::{RefundPorts, RefundService};
use domain::usecases::settlement::RunOutcome;
use domain::usecases::stats::StatsService;
use domain::usecases::webhooks::WebhookService;

pub use crate::config::{Config, env_var};
pub use crate::gateway_reload::{apply_stored_gateway_configs, run_gateway_refresh};

/// A pool on `url` (`DATABASE_URL`) with `settings`, with no keyring.
pub fn pool_at(url: Option<&str>, settings: &PoolSettings) -> anyhow::Result<PgStore> {
    let url = url.context("DATABASE_URL is not set")?;
    PgStore::connect(url, settings).context("creating the database pool")
}

/// Connects the pool described by `config`.
pub fn connect(config: &Config) -> anyhow::Result<PgStore> {
    let settings = PoolSettings {
        max_connections: config.db_pool_size,
        stats_reads: config.db_stats_reads,
        ..PoolSettings::default()
    };
    let store = pool_at(config.database_url.as_deref(), &settings)?;
    Ok(match config.encryption_key {
        Some(key) => store.with_keyring(
            Keyring::new(key, &config.previous_encryption_keys)
                .context("SKILLPAY_ENCRYPTION_KEY is not a usable key")?,
        ),
        None => store,
    })
}

/// Applies pending migrations; returns how many ran.
pub fn migrate(store: &PgStore) -> anyhow::Result<usize> {
    let mut conn = store.connection().context("connecting to the database for migrations")?;
    adapters_postgres::run_migrations(&mut conn).context("applying migrations")
}

/// The circuit breaker policy `config` asks for.
pub fn breaker_policy(config: &Config) -> BreakerPolicy {
    BreakerPolicy {
        failures: config.breaker_failures,
        cooldown: chrono::Duration::seconds(i64::try_from(config.breaker_cooldown_secs).unwrap_or(30)),
    }
}

/// The gateways `config` enables (`paypal`: the shared PayPal client),
/// each declared by its adapter crate: the sandbox when it is on, Stripe
/// with a secret key, PayPal with a client. Real gateways sit behind
/// circuit breakers.
pub fn gateways(config: &Config, paypal: Option<&PaypalClient>) -> anyhow::Result<Gateways> {
    let mut gateways = Gateways::new();
    let (policy, clock) = (breaker_policy(config), Arc::new(SystemClock));
    if config.sandbox_enabled {
        gateways = gateways.register(adapters_sandbox::descriptor());
    }
    if let Some(key) = &config.stripe_secret_key {
        let mut stripe = StripeConfig::new(key.clone());
        stripe.api_base = config.stripe_api_base.clone();
        stripe.webhook_secrets = config.stripe_webhook_secrets.clone();
        gateways =
            gateways.register(adapters_stripe::descriptor(stripe, policy, clock.clone()).context("setting up Stripe")?);
    }
    if let Some(client) = paypal {
        gateways = gateways.register(adapters_paypal::descriptor(client, policy, clock));
    }
    Ok(gateways)
}

/// The modes the gateways serve, `live, test` style, or `none`.
pub fn modes_served(gateways: &Gateways) -> String {
    let modes: std::collections::BTreeSet<&str> = gateways.descriptors().iter().map(|g| g.mode().as_str()).collect();
    if modes.is_empty() { "none".to_owned() } else { modes.into_iter().collect::<Vec<_>>().join(", ") }
}

/// One line per gateway served, for the start-up log: method, mode and
/// capabilities.
pub fn describe_gateways(gateways: &Gateways) -> Vec<String> {
    gateways
        .descriptors()
        .iter()
        .map(|g| {
            let capabilities: Vec<&str> = g.capabilities().into_iter().map(<&str>::from).collect();
            format!("{} ({}): {}", g.method().as_str(), g.mode().as_str(), capabilities.join(", "))
        })
        .collect()
}

/// Logs each gateway served (`gateway served`: method, mode,
/// capabilities) and the modes in one line (`payment modes served`): at
/// start-up and after every rebuild.
pub fn log_gateways_served(gateways: &Gateways) {
    for gateway in describe_gateways(gateways) {
        tracing::info!(%gateway, "gateway served");
    }
    tracing::info!(modes = %modes_served(gateways), "payment modes served");
}

/// The PayPal client the gateway and the webhook verifier share (one
/// cached OAuth token), if PayPal is configured.
pub fn paypal_client(config: &Config) -> anyhow::Result<Option<PaypalClient>> {
    let Some(settings) = &config.paypal else {
        return Ok(None);
    };
    let mut paypal = PaypalConfig::sandbox(
        settings.client_id.clone(),
        PaypalSecret::new(settings.client_secret.clone()),
        settings.return_url.clone(),
        settings.cancel_url.clone(),
    );
    paypal.api_base = settings.api_base.clone();
    paypal.webhook_id = settings.webhook_id.clone();
    let client = PaypalClient::new(paypal).map_err(|e| anyhow::anyhow!("setting up PayPal: {e}"))?;
    Ok(Some(client))
}

/// Wires the adapters into the use cases.
pub fn app_state(config: &Config, store: PgStore) -> anyhow::Result<AppState> {
    app_state_with_gateways(config, store, Vec::new())
}

/// [`app_state`] with `extra` gateways registered after the configured
/// ones (a later one for the same method replaces it): how a gateway
/// crate of the embedding service, or a test, plugs in.
pub fn app_state_with_gateways(
    config: &Config,
    store: PgStore,
    extra: Vec<domain::ports::GatewayDescriptor>,
) -> anyhow::Result<AppState> {
    let paypal = paypal_client(config)?;
    let store = Arc::new(store);
    let clock = Arc::new(SystemClock);
    let ids = Arc::new(TimeOrderedIds);
    let gateways = extra.iter().cloned().fold(gateways(config, paypal.as_ref())?, Gateways::register);
    log_gateways_served(&gateways);
    // Stored configurations are served by the reloader: at start-up
    // (`skillpay serve`), after an admin stores one, and on its timer.
    let reloader =
        Arc::new(gateway_reload::StoredGatewayReloader::new(config.clone(), store.clone(), extra, gateways.clone()));
    let ports = PaymentPorts {
        payments: store.clone(),
        coupons: store.clone(),
        catalog: store.clone(),
        gateways,
        clock: clock.clone(),
        ids: ids.clone(),
    };
    let policy = PaymentPolicy {
        platform_fee_rate: config.platform_fee_rate,
        instructor_fee_rates: config.instructor_fee_rates.clone(),
        max_amount: config.max_amount.clone(),
        gateway_fee_bearer: config.gateway_fee_bearer,
    };
    let dual_control = domain::usecases::dual_control::DualControl::new(
        domain::usecases::dual_control::SecondApprovalPolicy {
            above: config.second_approval_above.clone(),
            window: chrono::Duration::hours(config.second_approval_window_hours),
        },
        store.clone(),
        clock.clone(),
    );
    let refunds = RefundService::new(
        RefundPorts {
            refunds: store.clone(),
            payments: store.clone(),
            gateways: ports.gateways.clone(),
            clock: clock.clone(),
            ids: ids.clone(),
            dual_control: dual_control.clone(),
        },
        config.refund_window_days,
    )
    .with_refund_screening(store.clone());
    let disputes = DisputeService::new(
        DisputePorts {
            disputes: store.clone(),
            payments: store.clone(),
            gateways: ports.gateways.clone(),
            clock: clock.clone(),
            ids: ids.clone(),
        },
        DisputeFeePolicy {
            fees: config.dispute_fees.iter().map(|fee| (fee.currency(), *fee)).collect(),
            bearer: Some(config.dispute_fee_bearer),
        },
    );
    let payouts = PayoutService::new(
        PayoutPorts {
            payouts: store.clone(),
            earnings: store.clone(),
            gateways: ports.gateways.payout_gateways(),
            clock: clock.clone(),
            ids: ids.clone(),
            dual_control,
        },
        PayoutPolicy { minimum: config.min_payout.clone(), hold: chrono::Duration::days(config.payout_hold_days) },
    );
    // Registration and every connection apply the same destination rule.
    let sender = adapters_events::HttpEventSender::new(
        std::time::Duration::from_secs(config.event_timeout_secs),
        config.event_destinations,
    )
    .context("setting up event delivery")?;
    let events = EventService::new(
        EventPorts {
            store: store.clone(),
            sender: Arc::new(sender),
            resolver: Arc::new(adapters_events::SystemResolver),
            clock: clock.clone(),
            ids: ids.clone(),
            secrets: Arc::new(adapters_postgres::SystemSecrets::default()),
            gateways: ports.gateways.clone(),
        },
        domain::events::RetryPolicy::default(),
        // Longer than a send can take, so a live worker's lease never lapses.
        chrono::Duration::seconds(i64::try_from(config.event_timeout_secs).unwrap_or(10) * 6),
    )
    .with_destinations(config.event_destinations)
    .with_retention(chrono::Duration::days(config.event_retention_days));
    let rate_limits = domain::usecases::rate_limits::RateLimits::new(store.clone(), clock.clone(), config.rate_limits);
    let webhook_verifiers = ports.gateways.clone();
    let served_gateways = ports.gateways.clone();
    let payments = PaymentService::new(ports, policy)
        .with_recovery_refunds(refunds.clone())
        .with_coupon_holds(config.coupon_holds)
        .with_fraud_screening(store.clone());
    let fraud = domain::usecases::fraud::FraudService::new(store.clone(), clock.clone(), ids.clone());
    let settlement = domain::usecases::settlement::SettlementService::new(
        store.clone(),
        served_gateways.clone(),
        clock.clone(),
        ids.clone(),
    );
    let receipt_links =
        documents::ReceiptLinks::new(&config.jwt_secret, chrono::Duration::days(config.receipt_link_days));
    let receipts = domain::usecases::receipts::ReceiptService::new(domain::usecases::receipts::ReceiptPorts {
        receipts: store.clone(),
        payments: store.clone(),
        refunds: store.clone(),
        clock: clock.clone(),
    });
    let smtp_ca = match &config.smtp_ca_file {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("reading SKILLPAY_SMTP_CA_FILE {path}"))?),
        None => None,
    };
    Ok(AppState {
        rate_limits,
        trusted_proxies: api_actix::client_addr::TrustedProxies::new(config.trusted_proxies.clone()),
        events,
        receipts: receipts.clone(),
        receipt_links: receipt_links.clone(),
        token_contacts: api_actix::token_contacts::TokenContacts::default(),
        mail: domain::usecases::mail::MailService::new(
            domain::usecases::mail::MailPorts {
                store: store.clone(),
                transport: Arc::new(
                    adapters_mail::LettreTransport::new(
                        config.smtp_url.as_deref(),
                        smtp_ca.as_deref(),
                        config.mail_dir.clone().into(),
                        &config.mail_from,
                        receipt_links,
                        &config.public_url,
                    )
                    .context("setting up e-mail")?,
                ),
                payments: store.clone(),
                receipts,
                clock: clock.clone(),
                ids: ids.clone(),
            },
            config.mail.clone(),
            domain::events::RetryPolicy::default(),
        ),
        refunds: refunds.clone(),
        fraud,
        ledger: store.clone(),
        webhooks: WebhookService::new(
            webhook_verifiers,
            store.clone(),
            payments.clone(),
            refunds,
            disputes.clone(),
            payouts.clone(),
        )
        .with_settlement(settlement.clone()),
        payouts,
        stats: StatsService::new(store.clone(), store.clone(), served_gateways.clone()),
        settlement,
        disputes,
        payments,
        coupons: CouponService::new(store.clone(), store.clone(), clock.clone(), ids.clone()),
        catalog: CatalogService::new(store.clone(), clock.clone(), config.max_amount.clone()),
        gateway_configs: GatewayConfigService::new(store.clone(), reloader, clock, ids)
            .with_second_approval(store.clone()),
        idempotency: store.clone(),
        idempotency_lease: web_ports::idempotency::ClaimLease::from_secs(config.idempotency_lease_secs),
        health: store.clone(),
        lifecycle: api_actix::Lifecycle::default(),
        metrics: api_actix::observe::Metrics::new(config.metrics_token.clone()).context("setting up metrics")?,
        ops: store.clone(),
        auth: AuthConfig::hs256(&config.jwt_secret, config.jwt_audience.clone()).with_issuer(config.jwt_issuer.clone()),
        console: store.clone(),
        serve_api_docs: config.api_docs,
    })
}

/// The open-payment sweep policy `config` asks for.
pub fn sweep_policy(config: &Config) -> SweepPolicy {
    SweepPolicy {
        check_after: chrono::Duration::seconds(config.reconcile_after_secs),
        expire_after: chrono::Duration::minutes(config.payment_expiry_minutes),
        review_deadline: chrono::Duration::hours(config.review_deadline_hours),
        ..SweepPolicy::default()
    }
}

/// Refunds and payouts re-checked per sweep.
const SYNC_BATCH: u32 = 50;
/// Fraud attempt slots past every rule's window deleted per sweep.
const PRUNE_BATCH: u32 = 5_000;
/// Sale earnings released per sweep.
const RELEASE_BATCH: u32 = 500;

/// Every `interval_secs` until the process stops: sweeps open payments,
/// asks gateways about refunds and payouts they had not settled, releases
/// sale earnings past their hold period, reconciles the gateways' books
/// for the days due and forgets expired idempotency keys. Safe with any number of instances: payment claims skip rows
/// another holds, every other change is guarded.
pub async fn run_sweeper(
    state: AppState,
    policy: SweepPolicy,
    interval_secs: u64,
    idempotency_ttl_hours: i64,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(interval_secs));
    while lifecycle::next_tick(&mut ticker, &mut stopping).await {
        match state.payments.sweep_open_payments(policy).await {
            Ok(report) if report.checked > 0 || report.recovered > 0 => tracing::info!(
                checked = report.checked,
                settled = report.settled,
                expired = report.expired,
                rechecked = report.rechecked,
                recovered = report.recovered,
                failed = report.failed.len(),
                "swept open payments"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "open-payment sweep failed; retrying next tick"),
        }
        match state.payments.refund_expired_holds(policy.review_deadline, SYNC_BATCH).await {
            Ok(report) if report.refunded > 0 || !report.failed.is_empty() => {
                tracing::info!(
                    refunded = report.refunded,
                    failed = report.failed.len(),
                    "refunded expired review holds"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "refunding expired review holds failed; retrying next tick"),
        }
        match state.fraud.prune_attempts(PRUNE_BATCH).await {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "pruned fraud attempt slots past every window"),
            Err(error) => tracing::warn!(%error, "pruning fraud attempt slots failed; retrying next tick"),
        }
        match state.refunds.sync_processing(SYNC_BATCH).await {
            Ok((settled, failed)) if settled > 0 || !failed.is_empty() => {
                tracing::info!(settled, failed = failed.len(), "synced processing refunds");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "refund sync failed; retrying next tick"),
        }
        let policy = SweepPolicy::default();
        match state.refunds.record_fee_returns(policy.recheck_window, policy.recheck_min_wait, SYNC_BATCH).await {
            Ok(report) if report.recorded > 0 || !report.failed.is_empty() => {
                tracing::info!(
                    recorded = report.recorded,
                    failed = report.failed.len(),
                    "recorded refunds' fee returns"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "reading refunds' fee returns failed; retrying next tick"),
        }
        match state.payouts.sync_processing(SYNC_BATCH).await {
            Ok((settled, failed)) if settled > 0 || !failed.is_empty() => {
                tracing::info!(settled, failed = failed.len(), "synced processing payouts");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "payout sync failed; retrying next tick"),
        }
        match state.payouts.release_due_earnings(RELEASE_BATCH).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "released sale earnings past their hold period"),
            Err(error) => tracing::warn!(%error, "earnings release failed; retrying next tick"),
        }
        reconcile_settlement(&state).await;
        match state.stats.fold_past_shards(chrono::Utc::now().date_naive()).await {
            Ok(0) => {}
            Ok(folded) => tracing::debug!(folded, "folded past statistics shards"),
            Err(error) => tracing::warn!(%error, "folding statistics shards failed; retrying next tick"),
        }
        let expired_before = chrono::Utc::now() - chrono::Duration::hours(idempotency_ttl_hours);
        match state.rate_limits.reap().await {
            Ok(0) => {}
            Ok(forgotten) => tracing::debug!(forgotten, "forgot old rate-limit windows"),
            Err(error) => tracing::warn!(%error, "rate-limit reaping failed; retrying next tick"),
        }
        match state.idempotency.reap(expired_before).await {
            Ok(0) => {}
            Ok(reaped) => tracing::info!(reaped, "forgot expired idempotency keys"),
            Err(error) => tracing::warn!(%error, "idempotency key reaping failed; retrying next tick"),
        }
    }
}

/// The days of the gateways' books due for reconciliation (nothing once
/// yesterday is done, so a tick costs one query per gateway).
async fn reconcile_settlement(state: &AppState) {
    match state.settlement.reconcile_due().await {
        Ok(report) => {
            for outcome in report.outcomes.iter().filter(|o| matches!(o, RunOutcome::Finished(_))) {
                tracing::info!("{}", settlement_line(outcome));
            }
            for (gateway, day, error) in report.failed {
                tracing::warn!(
                    gateway = gateway.as_str(),
                    day = %day.since().date_naive(),
                    %error,
                    "settlement reconciliation failed; it resumes next tick"
                );
            }
        }
        Err(error) => tracing::warn!(%error, "settlement reconciliation failed; retrying next tick"),
    }
}

/// One line about a reconciliation run, for the command line and logs.
pub fn settlement_line(outcome: &RunOutcome) -> String {
    let run = outcome.run();
    let what = match outcome {
        RunOutcome::Finished(_) => "reconciled",
        RunOutcome::AlreadyDone(_) => "already reconciled",
        RunOutcome::Busy(_) => "being reconciled by another instance",
    };
    format!(
        "settlement {} {} {}: {what}; {} lines read, {} matched, {} differing",
        run.gateway.as_str(),
        domain::gateway_config::GatewayMode::of(run.livemode).as_str(),
        run.period.since().date_naive(),
        run.lines_read,
        run.matched,
        run.differing
    )
}

/// Events delivered per round of the delivery worker.
const DELIVERY_BATCH: u32 = 50;
/// Messages sent per round of the delivery worker.
const MAIL_BATCH: u32 = 20;

/// Numbers the receipts and credit notes made since the last round, sends
/// the e-mail due, then delivers outbox events (their `receipt.issued`
/// among them) to the registered endpoints, every `poll_ms` until the process stops. Safe with
/// any number of instances: one numbers at a time, and routing and claims
/// skip rows another instance holds.
pub async fn run_event_delivery(
    events: domain::usecases::events::EventService,
    receipts: domain::usecases::receipts::ReceiptService,
    mail: domain::usecases::mail::MailService,
    poll_ms: u64,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(poll_ms));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while lifecycle::next_tick(&mut ticker, &mut stopping).await {
        match receipts.number_pending().await {
            Ok(0) => {}
            Ok(numbered) => tracing::info!(numbered, "numbered receipts"),
            Err(error) => tracing::warn!(%error, "numbering receipts failed; retrying next tick"),
        }
        match mail.send_due(MAIL_BATCH).await {
            Ok(report) if report.sent + report.retried + report.ended > 0 => tracing::info!(
                routed = report.routed,
                sent = report.sent,
                retried = report.retried,
                ended = report.ended,
                "sent mail"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "mail round failed; retrying next tick"),
        }
        match events.deliver_due(DELIVERY_BATCH).await {
            Ok(report) if report.delivered + report.retried + report.dead > 0 => tracing::info!(
                routed = report.routed,
                delivered = report.delivered,
                retried = report.retried,
                dead = report.dead,
                "delivered events"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "event delivery round failed; retrying next tick"),
        }
    }
}

/// Starts the HTTP server on `listener`; the returned server runs until
/// its handle stops it (the binary does on SIGTERM/SIGINT, see
/// [`lifecycle::shut_down`]), giving requests in flight up to
/// `shutdown_timeout_secs` to finish.
pub fn start_server(
    state: AppState,
    listener: TcpListener,
    shutdown_timeout_secs: u64,
) -> anyhow::Result<actix_web::dev::Server> {
    start_server_with_tls(state, listener, shutdown_timeout_secs, None, config::DEFAULT_HTTP_WORKERS)
}

/// [`start_server`], serving HTTPS with `tls` when given (and sending HSTS),
/// on `workers` worker threads.
///
/// The workers never wait on PostgreSQL themselves: every storage call
/// runs on tokio's blocking threads (`adapters_postgres::PgStore`), so a
/// slow statement or a locked row holds up only the requests that need it.
pub fn start_server_with_tls(
    state: AppState,
    listener: TcpListener,
    shutdown_timeout_secs: u64,
    tls: Option<rustls::ServerConfig>,
    workers: u32,
) -> anyhow::Result<actix_web::dev::Server> {
    let https = tls.is_some();
    let server = HttpServer::new(move || {
        let hsts = middleware::DefaultHeaders::new().add(("Strict-Transport-Security", tls::HSTS));
        App::new()
            .wrap(middleware::Condition::new(https, hsts))
            .wrap(api_actix::problem_errors())
            .wrap(middleware::from_fn(api_actix::observe::observe))
            .configure(api_actix::configure(state.clone()))
    });
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config).context("listening with TLS")?,
        None => server.listen(listener).context("listening")?,
    };
    Ok(server.workers(workers.max(1) as usize).disable_signals().shutdown_timeout(shutdown_timeout_secs).run())
}
