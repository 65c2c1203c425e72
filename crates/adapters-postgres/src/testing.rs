//! Throwaway databases for tests: one per test, cloned from a migrated
//! template so tests run in parallel on one PostgreSQL server.
//!
//! The server comes from `SKILLPAY_TEST_DATABASE_URL` (set by
//! `scripts/with-test-db.sh`, which `just test` uses to start a throwaway
//! cluster). The template is built once per server under an advisory lock,
//! so concurrent test binaries do not race to build it. Its name carries a
//! hash of the migrations, so a changed or added migration gets a template
//! of its own on a long-lived server; templates of other migration sets are
//! left alone (a test binary built from them may still be cloning them).

use std::path::Path;
use std::sync::LazyLock;

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl, sql_query};
use ring::digest::{Context, SHA256};
use uuid::Uuid;

use crate::migrations::run_migrations;

/// Advisory lock key serialising template creation.
const TEMPLATE_LOCK_KEY: i64 = 7_315_001;
/// The migrations embedded into this build (the same folder `embed_migrations!` reads).
const MIGRATIONS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");

/// Name of the migrated template database for this build's migrations.
static TEMPLATE_DB: LazyLock<String> =
    LazyLock::new(|| format!("skillpay_test_template_{}", migrations_hash(Path::new(MIGRATIONS_DIR))));

/// The first 16 hex digits of a SHA-256 over every migration's folder name
/// and SQL files, in name order: any edit, addition, removal or rename
/// changes it.
pub fn migrations_hash(dir: &Path) -> String {
    let read_dir = |dir: &Path| -> Vec<std::path::PathBuf> {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("migrations at {}: {e}", dir.display()));
        let mut paths: Vec<_> =
            entries.map(|entry| entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path()).collect();
        paths.sort();
        paths
    };
    let mut hash = Context::new(&SHA256);
    for migration in read_dir(dir).into_iter().filter(|path| path.is_dir()) {
        for file in read_dir(&migration) {
            let relative = file.strip_prefix(dir).unwrap_or(&file);
            let contents = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            // Lengths first, so that moving bytes between name and contents changes the hash.
            for part in [relative.to_string_lossy().as_bytes(), &contents] {
                hash.update(&(part.len() as u64).to_be_bytes());
                hash.update(part);
            }
        }
    }
    hex::encode(&hash.finish().as_ref()[..8])
}

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
    let template = TEMPLATE_DB.as_str();
    sql_query(format!("SELECT pg_advisory_lock({TEMPLATE_LOCK_KEY})")).execute(admin).unwrap_or_else(|e| panic!("{e}"));
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let exists = sql_query(format!("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{template}') AS exists"))
        .get_result::<Exists>(admin)
        .unwrap_or_else(|e| panic!("{e}"))
        .exists;
    if !exists {
        // A run that died while building left this behind; the lock says no one is building now.
        sql_query(format!("DROP DATABASE IF EXISTS {template}_building WITH (FORCE)"))
            .execute(admin)
            .unwrap_or_else(|e| panic!("{e}"));
        sql_query(format!("CREATE DATABASE {template}_building")).execute(admin).unwrap_or_else(|e| panic!("{e}"));
        {
            let mut conn = PgConnection::establish(&with_database(admin_url, &format!("{template}_building")))
                .unwrap_or_else(|e| panic!("{e}"));
            run_migrations(&mut conn).unwrap_or_else(|e| panic!("{e}"));
        }
        sql_query(format!("ALTER DATABASE {template}_building RENAME TO {template}"))
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
        sql_query(format!("CREATE DATABASE {name} TEMPLATE {}", *TEMPLATE_DB))
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
const COUNTABLE_TABLES: [&str; 12] = [
    "audit_log",
    "payments",
    "coupons",
    "coupon_redemptions",
    "ledger_journals",
    "ledger_entries",
    "outbox_events",
    "idempotency_keys",
    "catalog_items",
    "settlement_runs",
    "settlement_lines",
    "settlement_discrepancies",
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

/// How many keys of the kept statistics (migration `000027_stats_by_mode`)
/// disagree with a scan of the payments and refunds, per mode: 0 when every
/// figure is exact. Counted, as [`PgStore::scalar`] reads it, as `n`.
///
/// - per mode, status, method and currency: payments, amounts, refunded
///   amounts, gateway fees and those the platform bore;
/// - per mode, method and currency: platform fees given back by processed
///   refunds (kept with the status their payment had then);
/// - per instructor, mode and currency: settled sales, earnings, gateway
///   fees the instructor bore, processed refunds and their fee part.
pub const STATS_MISMATCHES_SQL: &str = "SELECT (
  SELECT count(*) FROM (
    SELECT livemode, status, payment_method, currency, count(*) AS c, sum(amount_minor) AS a,
           sum(refunded_amount_minor) AS r, sum(coalesce(gateway_fee_minor, 0)) AS g,
           sum(payment_gateway_fee_of(p, 'platform')) AS gp
    FROM payments p GROUP BY 1, 2, 3, 4
  ) p FULL JOIN (
    SELECT livemode, status, payment_method, currency, sum(payments) AS c, sum(amount_minor) AS a,
           sum(refunded_minor) AS r, sum(gateway_fee_minor) AS g, sum(platform_gateway_fee_minor) AS gp
    FROM payment_stats_daily GROUP BY 1, 2, 3, 4 HAVING sum(payments) <> 0
  ) s USING (livemode, status, payment_method, currency)
  WHERE p.c IS DISTINCT FROM s.c OR p.a IS DISTINCT FROM s.a OR p.r IS DISTINCT FROM s.r
     OR p.g IS DISTINCT FROM s.g OR p.gp IS DISTINCT FROM s.gp
) + (
  SELECT count(*) FROM (
    SELECT p.livemode, p.payment_method, p.currency, sum(r.platform_fee_reversed_minor) AS f
    FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.status = 'processed' GROUP BY 1, 2, 3
    -- Both sides leave out zero sums: a refund too small to give back any
    -- fee leaves no stats row to compare with.
    HAVING sum(r.platform_fee_reversed_minor) <> 0
  ) p FULL JOIN (
    SELECT livemode, payment_method, currency, sum(refunded_fee_minor) AS f
    FROM payment_stats_daily GROUP BY 1, 2, 3 HAVING sum(refunded_fee_minor) <> 0
  ) s USING (livemode, payment_method, currency)
  WHERE p.f IS DISTINCT FROM s.f
) + (
  SELECT count(*) FROM (
    SELECT instructor_id, livemode, currency, count(*) AS c, sum(instructor_earnings_minor) AS e,
           sum(payment_gateway_fee_of(p, 'instructor')) AS g
    FROM payments p WHERE payment_is_settled(p) GROUP BY 1, 2, 3
  ) p FULL JOIN (
    SELECT instructor_id, livemode, currency, sum(sales) AS c, sum(earnings_minor) AS e,
           sum(instructor_gateway_fee_minor) AS g
    FROM instructor_stats_monthly GROUP BY 1, 2, 3 HAVING sum(sales) <> 0
  ) s USING (instructor_id, livemode, currency)
  WHERE p.c IS DISTINCT FROM s.c OR p.e IS DISTINCT FROM s.e OR p.g IS DISTINCT FROM s.g
) + (
  SELECT count(*) FROM (
    SELECT p.instructor_id, p.livemode, p.currency, count(*) AS c, sum(r.amount_minor) AS a,
           sum(r.platform_fee_reversed_minor) AS f
    FROM refunds r JOIN payments p ON p.id = r.payment_id
    WHERE r.status = 'processed' AND p.completed_at IS NOT NULL GROUP BY 1, 2, 3
  ) p FULL JOIN (
    SELECT instructor_id, livemode, currency, sum(refunds) AS c, sum(refunded_minor) AS a,
           sum(refunded_fee_minor) AS f
    FROM instructor_stats_monthly GROUP BY 1, 2, 3 HAVING sum(refunds) <> 0
  ) s USING (instructor_id, livemode, currency)
  WHERE p.c IS DISTINCT FROM s.c OR p.a IS DISTINCT FROM s.a OR p.f IS DISTINCT FROM s.f
) AS n";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::{Path, PathBuf};

    use super::migrations_hash;

    /// A scratch migrations folder with one migration.
    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("skillpay-migrations-{}", uuid::Uuid::new_v4().simple()));
        write(&dir, "2026-01-01-000001_core/up.sql", "CREATE TABLE a (id int);");
        write(&dir, "2026-01-01-000001_core/down.sql", "DROP TABLE a;");
        dir
    }

    fn write(dir: &Path, file: &str, sql: &str) {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, sql).unwrap();
    }

    #[test]
    fn the_template_key_follows_every_change_to_the_migrations() {
        let dir = scratch();
        let first = migrations_hash(&dir);
        assert_eq!(migrations_hash(&dir), first, "the same migrations give the same key");
        assert_eq!(first.len(), 16);

        write(&dir, "2026-01-01-000001_core/up.sql", "CREATE TABLE a (id bigint);");
        let edited = migrations_hash(&dir);
        write(&dir, "2026-01-01-000002_more/up.sql", "ALTER TABLE a ADD b int;");
        let added = migrations_hash(&dir);
        std::fs::rename(dir.join("2026-01-01-000002_more"), dir.join("2026-01-01-000003_more")).unwrap();
        let renamed = migrations_hash(&dir);
        std::fs::remove_dir_all(&dir).unwrap();

        let keys = [first, edited, added, renamed];
        for (i, key) in keys.iter().enumerate() {
            assert!(!keys[..i].contains(key), "key {i} repeats an earlier one: {keys:?}");
        }
    }

    #[test]
    fn the_project_s_migrations_have_a_key() {
        let key = migrations_hash(Path::new(super::MIGRATIONS_DIR));
        assert!(key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
        assert!(super::TEMPLATE_DB.ends_with(&key));
    }
}
