//! `skillpay`: serve the API, migrate the database, mint development
//! tokens, load demo data.

use std::net::TcpListener;

use anyhow::Context;
use app::config::{DatabaseSetting, KeySettings, LogSettings, Settings};
use app::{Config, app_state, connect, demo, migrate};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use domain::ids::UserId;
use domain::reconciliation::SettledGateway;
use domain::usecases::{Actor, Role, TestMode};

/// Default lifetime of a development token, in seconds (one day).
const DEFAULT_TOKEN_TTL_SECS: u64 = 86_400;

#[derive(Parser)]
#[command(name = "skillpay", version, about = "Payments backend for an online-learning marketplace")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    log: LogSettings,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Student,
    Instructor,
    Admin,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (applies pending migrations first).
    Serve {
        /// Do not apply pending migrations at start.
        #[arg(long)]
        no_migrate: bool,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Apply pending database migrations.
    Migrate {
        /// Revert every migration instead (destroys all data).
        #[arg(long)]
        revert_all: bool,
        #[command(flatten)]
        database: DatabaseSetting,
    },
    /// Print a signed development token for a user.
    Token {
        /// The platform user id.
        #[arg(long)]
        user_id: i64,
        /// The role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = DEFAULT_TOKEN_TTL_SECS)]
        ttl_secs: u64,
        /// Add the `test_mode` claim: the holder may pay with test-mode
        /// gateways (the sandbox, Stripe test keys) while live ones are
        /// served too. Admins may without it.
        #[arg(long)]
        test_mode: bool,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Print a one-time link that signs an admin or instructor in to the
    /// console at /admin/ (usable once, for 15 minutes).
    AdminLink {
        /// The platform user id.
        #[arg(long)]
        user_id: i64,
        /// The role (admin or instructor).
        #[arg(long, value_enum, default_value = "admin")]
        role: RoleArg,
        /// The server's address as a browser reaches it (default: the bind address).
        #[arg(long)]
        base_url: Option<String>,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Load demo courses, an event and coupons, and print demo tokens.
    DemoData {
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Run the background sweep once: re-check open payments with their
    /// gateways (expiring the ones unpaid past the expiry time), refunds and
    /// payouts not yet settled, release earnings past their hold period and
    /// reconcile the gateways' books for the days due (the server does this
    /// every minute). `reconcile settlement` reconciles chosen days.
    Reconcile {
        #[command(subcommand)]
        what: Option<ReconcileCommand>,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Seal every payout destination, event endpoint secret and gateway
    /// credential again under SKILLPAY_ENCRYPTION_KEY, so that the keys in
    /// SKILLPAY_ENCRYPTION_KEY_PREVIOUS can be dropped. Safe while the
    /// service runs and safe to run again; exits 1 if any value opens with
    /// none of the keys given.
    Reseal {
        /// Rows read at a time from each table
        #[arg(long, default_value_t = adapters_postgres::DEFAULT_RESEAL_BATCH, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch_size: u32,
        #[command(flatten)]
        database: DatabaseSetting,
        #[command(flatten)]
        keys: KeySettings,
    },
    /// Ledger tools.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
}

#[derive(Subcommand)]
enum ReconcileCommand {
    /// Compare a gateway's books with the ledger, each UTC day from
    /// `--since` up to yesterday (or `--until`, excluded); a day reconciled
    /// before is left as it is, one interrupted resumes.
    Settlement {
        /// Whose books.
        #[arg(long, value_enum)]
        gateway: SettledGatewayArg,
        /// First day (YYYY-MM-DD, UTC).
        #[arg(long)]
        since: chrono::NaiveDate,
        /// The day after the last (YYYY-MM-DD, UTC; default today).
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
        #[command(flatten)]
        settings: Box<Settings>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SettledGatewayArg {
    Stripe,
    Paypal,
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Recompute every balance from the entries, check every journal
    /// balances, each currency sums to zero and each kept amount paid out
    /// equals the paid payouts; exit 1 on the first discrepancy.
    Verify {
        #[command(flatten)]
        database: DatabaseSetting,
    },
}

/// The command line, with its settings from flags or the environment.
fn command_line() -> Cli {
    let matches = app::config::empty_variables_unset(Cli::command()).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

fn mint(config: &Config, actor: Actor, ttl_secs: u64) -> anyhow::Result<String> {
    api_actix::auth::AuthConfig::hs256(&config.jwt_secret, config.jwt_audience.clone())
        .with_issuer(config.jwt_issuer.clone())
        .mint(actor, ttl_secs)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// A store on `DATABASE_URL` alone, with the two connections a maintenance
/// command needs at most.
fn database_only(database: DatabaseSetting) -> anyhow::Result<adapters_postgres::PgStore> {
    let settings = adapters_postgres::PoolSettings { max_connections: 2, ..Default::default() };
    app::pool_at(database.database_url.as_ref().map(|url| url.0.as_str()), &settings)
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = command_line();
    let filter = tracing_subscriber::EnvFilter::new(&cli.log.log_filter);
    app::logging::init_with(&cli.log.log_format, filter, std::io::stdout);
    // Read per command: `migrate`, `ledger verify` and `reseal` need the
    // database (and `reseal` the keys) only, and run without the serving
    // settings (a JWT secret above all).
    match cli.command {
        Command::Serve { no_migrate, settings } => {
            let config = Config::try_from(*settings)?;
            let store = connect(&config)?;
            if !no_migrate {
                let applied = migrate(&store)?;
                tracing::info!(applied, "migrations checked");
            }
            let listener = TcpListener::bind(&config.bind).with_context(|| format!("binding {}", config.bind))?;
            let address = listener.local_addr().context("reading the bound address")?;
            if config.sandbox_enabled {
                tracing::warn!("SANDBOX gateway enabled (SKILLPAY_SANDBOX=on): test payments, no real money moves");
            }
            if config.event_destinations == domain::destinations::Destinations::PrivateAllowed {
                tracing::warn!(
                    "event endpoints may use http:// and private addresses (SKILLPAY_EVENT_ENDPOINTS_ALLOW_PRIVATE=on): \
                     development only"
                );
            }
            let tls = config.tls_files.as_ref().map(|(cert, key)| app::tls::server_config(cert, key)).transpose()?;
            let scheme = if tls.is_some() { "https" } else { "http" };
            println!("Skillpay listening on {scheme}://{address}");
            println!("API docs:   {scheme}://{address}/api/docs/");
            println!("OpenAPI:    {scheme}://{address}/api/openapi.json");
            let state = app_state(&config, store)?;
            // Active stored gateway configurations take precedence over the
            // environment's; one that cannot be served fails the start.
            state.gateway_configs.refresh().await.context("serving the stored gateway configurations")?;
            let workers = app::lifecycle::Workers::start(&state, &config);
            let server = app::start_server_with_tls(
                state.clone(),
                listener,
                config.shutdown_timeout_secs,
                tls,
                config.http_workers,
            )?;
            let handle = server.handle();
            let serving = actix_web::rt::spawn(server);
            app::lifecycle::terminated().await;
            app::lifecycle::shut_down(
                &state,
                handle,
                workers,
                std::time::Duration::from_secs(config.shutdown_drain_secs),
                std::time::Duration::from_secs(config.shutdown_timeout_secs),
            )
            .await;
            serving.await.context("joining the server")?.context("serving")?;
        }
        Command::Migrate { revert_all, database } => {
            let store = database_only(database)?;
            if revert_all {
                let mut conn = store.connection().context("connecting")?;
                let reverted = adapters_postgres::revert_all_migrations(&mut conn)?;
                println!("reverted {reverted} migrations");
            } else {
                println!("applied {} migrations", migrate(&store)?);
            }
        }
        Command::Token { user_id, role, ttl_secs, test_mode, settings } => {
            let config = Config::try_from(*settings)?;
            let role = match role {
                RoleArg::Student => Role::Student,
                RoleArg::Instructor => Role::Instructor,
                RoleArg::Admin => Role::Admin,
            };
            anyhow::ensure!(user_id > 0, "user ids are positive");
            let test_mode = if test_mode { TestMode::Allowed } else { TestMode::NotAllowed };
            println!("{}", mint(&config, Actor::new(UserId::new(user_id), role).with_test_mode(test_mode), ttl_secs)?);
        }
        Command::AdminLink { user_id, role, base_url, settings } => {
            let config = Config::try_from(*settings)?;
            let role = match role {
                RoleArg::Student => anyhow::bail!("the console is for admins and instructors"),
                RoleArg::Instructor => Role::Instructor,
                RoleArg::Admin => Role::Admin,
            };
            anyhow::ensure!(user_id > 0, "user ids are positive");
            let store = connect(&config)?;
            let secret = api_actix::console::new_secret();
            let expires_at = chrono::Utc::now() + chrono::Duration::minutes(api_actix::console::LINK_TTL_MINUTES);
            let actor = Actor::new(UserId::new(user_id), role);
            web_ports::console::ConsoleStore::create_link(
                &store,
                api_actix::console::secret_hash(&secret),
                actor,
                expires_at,
            )
            .await
            .context("storing the sign-in link")?;
            let base = base_url.unwrap_or_else(|| format!("http://{}", config.bind));
            println!("{}/admin/link/{secret}", base.trim_end_matches('/'));
        }
        Command::Ledger { command: LedgerCommand::Verify { database } } => {
            let store = database_only(database)?;
            let verification = store.verify_ledger().await.context("verifying the ledger")?;
            match verification.first_discrepancy {
                None => {
                    let modes: Vec<String> = verification
                        .modes
                        .iter()
                        .map(|m| {
                            format!(
                                "{} {} journals",
                                domain::gateway_config::GatewayMode::of(m.livemode).as_str(),
                                m.journals
                            )
                        })
                        .collect();
                    println!("ledger ok: {}; every balance of each mode matches its entries", modes.join(", "));
                }
                Some(problem) => {
                    eprintln!("ledger discrepancy: {problem}");
                    std::process::exit(1);
                }
            }
        }
        Command::Reseal { batch_size, database, keys } => {
            let store = database_only(database)?.with_keyring(app::reseal::keyring(keys)?);
            let reports = store.reseal(batch_size).await.context("re-sealing")?;
            for report in &reports {
                println!("{}", app::reseal::line(report));
                for (id, why) in &report.failed {
                    eprintln!("  {} {id}: {why}", report.column);
                }
            }
            if !reports.iter().all(adapters_postgres::ResealReport::is_complete) {
                eprintln!(
                    "reseal incomplete: keep SKILLPAY_ENCRYPTION_KEY_PREVIOUS until a run opens and re-seals every value"
                );
                std::process::exit(1);
            }
        }
        Command::Reconcile { what: Some(ReconcileCommand::Settlement { gateway, since, until, settings }), .. } => {
            let config = Config::try_from(*settings)?;
            let state = app_state(&config, connect(&config)?)?;
            let gateway = match gateway {
                SettledGatewayArg::Stripe => SettledGateway::Stripe,
                SettledGatewayArg::Paypal => SettledGateway::Paypal,
            };
            let midnight = |day: chrono::NaiveDate| day.and_time(chrono::NaiveTime::MIN).and_utc();
            let until = until.map_or_else(chrono::Utc::now, midnight);
            let outcomes = state.settlement.reconcile_days(gateway, midnight(since), until).await?;
            for outcome in &outcomes {
                println!("{}", app::settlement_line(outcome));
            }
            if outcomes.is_empty() {
                println!("no whole day between {since} and {}", until.date_naive());
            }
        }
        Command::Reconcile { what: None, settings } => {
            let config = Config::try_from(*settings)?;
            let state = app_state(&config, connect(&config)?)?;
            let report = state.payments.sweep_open_payments(app::sweep_policy(&config)).await?;
            println!(
                "checked {}, settled {}, expired {}, given up and re-checked {}, recovered {}, failed {}",
                report.checked,
                report.settled,
                report.expired,
                report.rechecked,
                report.recovered,
                report.failed.len()
            );
            for (id, error) in report.failed {
                eprintln!("  {id}: {error}");
            }
            let (settled, failed) = state.refunds.sync_processing(100).await?;
            println!("refunds: settled {settled}, failed {}", failed.len());
            for (id, error) in failed {
                eprintln!("  {id}: {error}");
            }
            let policy = app::sweep_policy(&config);
            let fees = state.refunds.record_fee_returns(policy.recheck_window, policy.recheck_min_wait, 100).await?;
            println!("refund fee returns: recorded {}, failed {}", fees.recorded, fees.failed.len());
            for (id, error) in fees.failed {
                eprintln!("  {id}: {error}");
            }
            let (settled, failed) = state.payouts.sync_processing(100).await?;
            println!("payouts: settled {settled}, failed {}", failed.len());
            for (id, error) in failed {
                eprintln!("  {id}: {error}");
            }
            let released = state.payouts.release_due_earnings(10_000).await?;
            println!("earnings released from hold: {released} sales");
            let settled = state.settlement.reconcile_due().await?;
            for outcome in &settled.outcomes {
                println!("{}", app::settlement_line(outcome));
            }
            for (gateway, day, error) in settled.failed {
                eprintln!("  settlement {} {}: {error}", gateway.as_str(), day.since().date_naive());
            }
        }
        Command::DemoData { settings } => {
            let config = Config::try_from(*settings)?;
            let store = connect(&config)?;
            migrate(&store)?;
            demo::load(&app_state(&config, store)?).await?;
            println!(
                "Demo data loaded: courses 1-3 (USD), event 1 (JPY, 50 seats, up to 4 tickets per buyer), coupons WELCOME10, \
                 FREEINTRO (course 3), FIVEOFF, and a completed purchase of course 2 (its earnings are pending for the hold period)."
            );
            println!("Demo tokens (valid one day):");
            for (name, actor) in
                [("admin", demo::DEMO_ADMIN), ("instructor", demo::DEMO_INSTRUCTOR), ("student", demo::DEMO_STUDENT)]
            {
                println!("  {name:<10} (user {}): {}", actor.user_id, mint(&config, actor, DEFAULT_TOKEN_TTL_SECS)?);
            }
        }
    }
    Ok(())
}
