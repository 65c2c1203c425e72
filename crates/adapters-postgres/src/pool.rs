//! The connection pool and the bridge from async ports to blocking diesel.

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{RunQueryDsl, sql_query};
use domain::ports::StoreError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::errors::store_error;
use crate::turns::KeyedTurns;

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections held open.
    pub max_connections: u32,
    /// How long a request waits for a free connection.
    pub acquire_timeout_ms: u64,
    /// Server-side limit on any one statement.
    pub statement_timeout_ms: u64,
    /// Most statistics reads running at once; the others wait their turn
    /// (as long as for a connection). See [`PgStore::run_stats_read`].
    pub stats_reads: u32,
}

/// Default of [`PoolSettings::stats_reads`].
pub const DEFAULT_STATS_READS: u32 = 3;

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout_ms: 5_000,
            statement_timeout_ms: 10_000,
            stats_reads: DEFAULT_STATS_READS,
        }
    }
}

#[derive(Debug)]
struct SessionSettings {
    statement_timeout_ms: u64,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        sql_query(format!("SET statement_timeout = {}", self.statement_timeout_ms))
            .execute(conn)
            .map(|_| ())
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

type PgPool = Pool<ConnectionManager<PgConnection>>;

/// Skillpay's PostgreSQL store: implements every storage port.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    keyring: Option<std::sync::Arc<crate::crypto::Keyring>>,
    stats_reads: std::sync::Arc<Semaphore>,
    acquire_timeout: Duration,
    /// Turns of the purchases of one coupon (`turns.rs`).
    coupon_turns: std::sync::Arc<KeyedTurns>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("state", &self.pool.state()).finish()
    }
}

impl PgStore {
    /// A store over a new pool. Does not fail when the database is down:
    /// connections are made on demand, so the service starts and reports
    /// itself unready instead.
    pub fn connect(database_url: &str, settings: &PoolSettings) -> Result<PgStore, StoreError> {
        let manager = ConnectionManager::<PgConnection>::new(database_url);
        let pool = Pool::builder()
            .max_size(settings.max_connections)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_millis(settings.acquire_timeout_ms))
            .test_on_check_out(false)
            .connection_customizer(Box::new(SessionSettings { statement_timeout_ms: settings.statement_timeout_ms }))
            .build_unchecked(manager);
        let acquire_timeout = Duration::from_millis(settings.acquire_timeout_ms);
        let turns = settings.stats_reads.max(1) as usize;
        Ok(PgStore {
            pool,
            keyring: None,
            stats_reads: std::sync::Arc::new(Semaphore::new(turns)),
            acquire_timeout,
            coupon_turns: std::sync::Arc::new(KeyedTurns::new(settings.max_connections as usize / 2, acquire_timeout)),
        })
    }

    /// The same store, sealing secrets at rest with `keyring`.
    pub fn with_keyring(self, keyring: crate::crypto::Keyring) -> PgStore {
        PgStore { keyring: Some(std::sync::Arc::new(keyring)), ..self }
    }

    pub(crate) fn keyring(&self) -> Option<std::sync::Arc<crate::crypto::Keyring>> {
        self.keyring.clone()
    }

    /// A connection for blocking work outside the ports (migrations, tools).
    pub fn connection(&self) -> Result<PooledConnection<ConnectionManager<PgConnection>>, StoreError> {
        self.pool.get().map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Runs `work`, a statistics read, on a blocking thread once one of the
    /// [`PoolSettings::stats_reads`] turns is free; waits for a turn as long
    /// as for a connection, then answers unavailable.
    ///
    /// Statistics reads are the longest statements of the service, and an
    /// admin's dashboard can ask for several at once. Unlimited, they take
    /// every core of the database from payments, and their answers come
    /// slower than in turn (docs/performance.md). The turn is held until
    /// the statement ends, even if the request is dropped.
    pub(crate) async fn run_stats_read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let turn = self.stats_turn().await?;
        self.run(move |conn| {
            let _turn = turn;
            work(conn)
        })
        .await
    }

    /// One of the [`PoolSettings::stats_reads`] turns, once free; waits as
    /// long as for a connection, then answers unavailable.
    async fn stats_turn(&self) -> Result<OwnedSemaphorePermit, StoreError> {
        tokio::time::timeout(self.acquire_timeout, self.stats_reads.clone().acquire_owned())
            .await
            .map_err(|_| StoreError::Unavailable("every statistics read turn stayed busy".into()))?
            .map_err(|_| StoreError::Unavailable("statistics reads are closed".into()))
    }

    /// A turn of the purchases with `coupon`: at most half the pool's
    /// connections serve purchases of one coupon at once, so a coupon row
    /// locked elsewhere cannot take the whole pool (`turns.rs`).
    pub(crate) async fn coupon_turn(&self, coupon: uuid::Uuid) -> Result<OwnedSemaphorePermit, StoreError> {
        self.coupon_turns.take(coupon, "the coupon").await
    }

    /// Runs `work` with a pooled connection on a blocking thread.
    ///
    /// Every storage call goes through here: diesel's connections block,
    /// and a thread blocked on PostgreSQL (a slow statement, a row locked
    /// by another session) must never be one of the HTTP server's workers,
    /// each of which serves many clients' requests at once.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| StoreError::Unavailable(e.to_string()))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("storage task failed: {e}")))?
    }
}

#[async_trait::async_trait]
impl domain::ports::HealthCheck for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|conn| sql_query("SELECT 1").execute(conn).map(|_| ()).map_err(store_error)).await
    }
}
