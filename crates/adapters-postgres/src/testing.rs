//! Throwaway databases for tests: one per test, cloned from a migrated
//! template so tests run in parallel on one PostgreSQL server.
//!
//! The server comes from `SKILLPAY_TEST_DATABASE_URL` (set by
//! `scripts/with-test-db.sh`, which `just test` uses to start a throwaway
//! cluster). The template is built once per server under an advisory lock,
//! so concurrent test binaries do not race to build it.

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl, sql_query};
use uuid::Uuid;

use crate::migrations::run_migrations;

/// Name of the migrated template database.
const TEMPLATE_DB: &str = "skillpay_test_template";
/// Advisory lock key serialising template creation.
const TEMPLATE_LOCK_KEY: i64 = 7_315_001;

/// A database that exists for the life of the value, then is dropped.
#[derive(Debug)]
pub struct TestDb {
    admin_url: String,
    name: String,
    url: String,
}

fn server_url() -> String {
    match std::env::var("SKILLPAY_TEST_DATABASE_URL") {
        Ok(url) => url,
        Err(_) => panic!(
            "SKILLPAY_TEST_DATABASE_URL is not set: run the tests with `just test` \
             (or scripts/with-test-db.sh cargo test), which starts a throwaway PostgreSQL"
        ),
    }
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match base.rfind('/') {
        Some(slash) if slash > "postgres://".len() => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

fn ensure_template(admin: &mut PgConnection, admin_url: &str) {
    sql_query(format!("SELECT pg_advisory_lock({TEMPLATE_LOCK_KEY})")).execute(admin).unwrap_or_else(|e| panic!("{e}"));
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let exists =
        sql_query(format!("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{TEMPLATE_DB}') AS exists"))
            .get_result::<Exists>(admin)
            .unwrap_or_else(|e| panic!("{e}"))
            .exists;
    if !exists {
        sql_query(format!("CREATE DATABASE {TEMPLATE_DB}_building")).execute(admin).unwrap_or_else(|e| panic!("{e}"));
        {
            let mut conn = PgConnection::establish(&with_database(admin_url, &format!("{TEMPLATE_DB}_building")))
                .unwrap_or_else(|e| panic!("{e}"));
            run_migrations(&mut conn).unwrap_or_else(|e| panic!("{e}"));
        }
        sql_query(format!("ALTER DATABASE {TEMPLATE_DB}_building RENAME TO {TEMPLATE_DB}"))
            .execute(admin)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    sql_query(format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK_KEY})"))
        .execute(admin)
        .unwrap_or_else(|e| panic!("{e}"));
}

impl TestDb {
    /// A fresh, migrated, empty database. Panics (failing the test) when no
    /// test server is configured or reachable.
    pub fn new() -> TestDb {
        let admin_url = server_url();
        let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| panic!("test PostgreSQL: {e}"));
        ensure_template(&mut admin, &admin_url);
        let name = format!("skillpay_test_{}", Uuid::new_v4().simple());
        sql_query(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("{e}"));
        let url = with_database(&admin_url, &name);
        TestDb { admin_url, name, url }
    }

    /// An empty database without any migration applied.
    pub fn unmigrated() -> TestDb {
        let admin_url = server_url();
        let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| panic!("test PostgreSQL: {e}"));
        let name = format!("skillpay_test_{}", Uuid::new_v4().simple());
        sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).unwrap_or_else(|e| panic!("{e}"));
        let url = with_database(&admin_url, &name);
        TestDb { admin_url, name, url }
    }

    /// Drops the database now, cutting every connection to it (tests of
    /// what the service does when its database disappears).
    pub fn drop_now(&self) {
        let mut admin = PgConnection::establish(&self.admin_url).unwrap_or_else(|e| panic!("{e}"));
        sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Best effort: the whole cluster is thrown away after the run anyway.
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin);
        }
    }
}

/// Tables tests may count.
const COUNTABLE_TABLES: [&str; 9] = [
    "audit_log",
    "payments",
    "coupons",
    "coupon_redemptions",
    "ledger_journals",
    "ledger_entries",
    "outbox_events",
    "idempotency_keys",
    "catalog_items",
];

impl crate::PgStore {
    /// Rows in one of the product's tables (tests check nothing was written).
    pub fn count_rows(&self, table: &str) -> Result<i64, domain::ports::StoreError> {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        if !COUNTABLE_TABLES.contains(&table) {
            return Err(domain::ports::StoreError::Corrupt(format!("not a countable table: {table}")));
        }
        let mut conn = self.connection()?;
        sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<Count>(&mut conn)
            .map(|c| c.n)
            .map_err(crate::errors::store_error)
    }

    /// Runs a raw SQL statement returning one bigint named `n` (tests only).
    pub fn scalar(&self, sql: &str) -> Result<i64, domain::ports::StoreError> {
        #[derive(diesel::QueryableByName)]
        struct Scalar {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.connection()?;
        sql_query(sql).get_result::<Scalar>(&mut conn).map(|c| c.n).map_err(crate::errors::store_error)
    }
}
