//! Statistics reads on an asynchronous connection of the calling thread.
//!
//! A read through diesel runs on a blocking thread: the request's task
//! hands it over and is woken when it is done, and libpq waits for the
//! answer on that thread. For the year's statistics (447 rows) that path
//! cost 0.25 ms more than the same statement on a `tokio-postgres`
//! connection polled by the task's own thread, paired in one process
//! (docs/performance.md). Here a read runs on such a connection: each
//! thread keeps its own idle connections, so a request served by an HTTP
//! worker is answered on that worker, with no thread hand-off.
//!
//! Only without TLS: these connections do not speak it. They are used when
//! the URL asks for none (`sslmode=disable`), or leaves TLS to the default
//! and the database is on this machine (a loopback address or a Unix
//! socket); otherwise the reads stay on diesel, whose libpq follows the
//! URL's TLS settings.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use domain::ports::StoreError;
use tokio::sync::OwnedSemaphorePermit;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

/// What these connections call themselves in `pg_stat_activity`.
pub(crate) const APPLICATION_NAME: &str = "skillpay-stats";

/// The parameters of one read, owned: the read runs as a task of its own.
pub(crate) type Params = Vec<Box<dyn ToSql + Send + Sync>>;

/// How to open the reading connections of one store.
#[derive(Clone)]
pub(crate) struct AsyncReads {
    /// Tells this store's idle connections from another's on one thread.
    store: u64,
    config: Arc<Config>,
    /// Idle connections kept per thread: as many as reads may run at once.
    keep_idle: usize,
}

/// An open connection and the statements prepared on it.
struct Open {
    store: u64,
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

thread_local! {
    static IDLE: RefCell<Vec<Open>> = const { RefCell::new(Vec::new()) };
}

static NEXT_STORE: AtomicU64 = AtomicU64::new(0);

impl AsyncReads {
    /// Reads for the database at `url`, when it can be reached without TLS
    /// (see the module's documentation); `None` otherwise.
    pub(crate) fn for_url(
        url: &str,
        statement_timeout_ms: u64,
        connect_timeout: Duration,
        keep_idle: usize,
    ) -> Option<Self> {
        let mut config: Config = url.parse().ok()?;
        let local = config.get_hosts().iter().all(|host| match host {
            Host::Tcp(name) => name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
            Host::Unix(_) => true,
        }) && config.get_hostaddrs().iter().all(IpAddr::is_loopback);
        let without_tls = match config.get_ssl_mode() {
            SslMode::Disable => true,
            // The default: libpq encrypts when the server can, which on
            // this machine hides nothing from anyone.
            SslMode::Prefer => local,
            _ => false,
        };
        if !without_tls {
            return None;
        }
        // As diesel's connections: times in UTC (a date compared with a
        // `timestamptz` is midnight UTC), the service's statement limit;
        // after the URL's own options, which they override.
        let ours = format!("-c TimeZone=UTC -c statement_timeout={statement_timeout_ms}");
        let options = match config.get_options() {
            Some(theirs) if !theirs.trim().is_empty() => format!("{theirs} {ours}"),
            _ => ours,
        };
        config.options(options.as_str()).application_name(APPLICATION_NAME).connect_timeout(connect_timeout);
        Some(AsyncReads {
            store: NEXT_STORE.fetch_add(1, Ordering::Relaxed),
            config: Arc::new(config),
            keep_idle: keep_idle.max(1),
        })
    }

    /// Runs `sql` with `params` and `decode`s its rows, holding `turn`
    /// until the statement has ended, even if the caller stops waiting: the
    /// read runs as a task of its own, on this thread's runtime.
    pub(crate) async fn read<T, F>(
        &self,
        turn: OwnedSemaphorePermit,
        sql: &'static str,
        params: Params,
        decode: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Vec<Row>) -> Result<T, StoreError> + Send + 'static,
    {
        let reads = self.clone();
        tokio::spawn(async move {
            let _turn = turn;
            let mut open = reads.checkout().await?;
            let rows = open.query(sql, &params).await;
            reads.give_back(open);
            decode(rows.map_err(read_error)?)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("statistics read failed: {e}")))?
    }

    /// An idle connection of this thread, or a new one.
    async fn checkout(&self) -> Result<Open, StoreError> {
        let idle = IDLE.with(|idle| {
            let mut idle = idle.borrow_mut();
            // A connection whose runtime has ended (a test's) is closed.
            idle.retain(|open| !open.client.is_closed());
            let at = idle.iter().rposition(|open| open.store == self.store)?;
            Some(idle.swap_remove(at))
        });
        if let Some(open) = idle {
            return Ok(open);
        }
        let (client, connection) = self.config.connect(NoTls).await.map_err(read_error)?;
        // The connection's I/O, on this thread's runtime; it ends when the
        // client is dropped or the server goes away.
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "statistics connection ended");
            }
        });
        Ok(Open { store: self.store, client, statements: HashMap::new() })
    }

    /// Keeps `open` for this thread's next read, unless it is closed or
    /// enough are kept already.
    fn give_back(&self, open: Open) {
        if open.client.is_closed() {
            return;
        }
        IDLE.with(|idle| {
            let mut idle = idle.borrow_mut();
            if idle.iter().filter(|kept| kept.store == self.store).count() < self.keep_idle {
                idle.push(open);
            }
        });
    }
}

impl Open {
    /// `sql`, prepared once per connection.
    async fn query(&mut self, sql: &'static str, params: &Params) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = match self.statements.get(sql) {
            Some(statement) => statement.clone(),
            None => {
                let statement = self.client.prepare(sql).await?;
                self.statements.insert(sql, statement.clone());
                statement
            }
        };
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
        self.client.query(&statement, &params).await
    }
}

/// A failed read: unavailable, as a diesel read's failure would be. The
/// message, which goes to logs only, is PostgreSQL's own when it has one
/// (the error's text alone is "db error").
fn read_error(error: tokio_postgres::Error) -> StoreError {
    StoreError::Unavailable(match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(url: &str) -> bool {
        AsyncReads::for_url(url, 1000, Duration::from_secs(1), 3).is_some()
    }

    #[test]
    fn only_a_database_reached_without_tls_is_read_here() {
        // On this machine: no TLS to lose.
        assert!(reads("postgres://skillpay@127.0.0.1:5432/skillpay"));
        assert!(reads("postgres://skillpay@[::1]:5432/skillpay"));
        assert!(reads("host=/var/run/postgresql user=skillpay dbname=skillpay"));
        // Elsewhere only when the URL itself asks for no TLS: libpq would
        // otherwise encrypt when the server can.
        assert!(reads("postgres://skillpay@db.internal/skillpay?sslmode=disable"));
        assert!(!reads("postgres://skillpay@db.internal/skillpay"));
        assert!(!reads("postgres://skillpay@10.0.0.5/skillpay?sslmode=require"));
        // TLS asked for explicitly is kept, even here.
        assert!(!reads("postgres://skillpay@localhost/skillpay?sslmode=require"));
        assert!(!reads("postgres://skillpay@127.0.0.1,db.internal/skillpay"));
        // What this client cannot read is left to libpq.
        assert!(!reads("not a url"));
    }

    #[test]
    fn the_urls_own_options_are_kept_before_the_services() {
        let options = |url: &str| {
            let reads = AsyncReads::for_url(url, 1000, Duration::from_secs(1), 3).unwrap();
            reads.config.get_options().unwrap_or_default().to_owned()
        };
        assert_eq!(options("postgres://u@127.0.0.1/db"), "-c TimeZone=UTC -c statement_timeout=1000");
        assert_eq!(
            options("postgres://u@127.0.0.1/db?options=-c%20work_mem%3D8MB"),
            "-c work_mem=8MB -c TimeZone=UTC -c statement_timeout=1000"
        );
    }
}
