//! The connection pool and the bridge from async ports to blocking diesel.

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{RunQueryDsl, sql_query};
use domain::ports::StoreError;

use crate::errors::store_error;

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections held open.
    pub max_connections: u32,
    /// How long a request waits for a free connection.
    pub acquire_timeout_ms: u64,
    /// Server-side limit on any one statement.
    pub statement_timeout_ms: u64,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout_ms: 5_000, statement_timeout_ms: 10_000 }
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
        Ok(PgStore { pool, keyring: None })
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

    /// Runs `work` with a pooled connection on a blocking thread.
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
