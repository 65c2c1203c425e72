//! Migrations embedded into the binary.

use diesel::pg::PgConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use domain::ports::StoreError;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Applies every pending migration; returns how many ran.
pub fn run_migrations(conn: &mut PgConnection) -> Result<usize, StoreError> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.len())
        .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))
}

/// Reverts the newest applied migration (tests of a migration's handling
/// of rows written before it).
pub fn revert_last_migration(conn: &mut PgConnection) -> Result<(), StoreError> {
    conn.revert_last_migration(MIGRATIONS)
        .map(|_| ())
        .map_err(|e| StoreError::Unavailable(format!("migration revert failed: {e}")))
}

/// Reverts the applied migrations newer than `version` (a migration
/// directory's date and number, `2026-12-07-000023`), newest first; answers
/// how many. Tests of a migration's handling of rows written before it
/// revert to just before it, whatever migrations came after.
pub fn revert_migrations_after(conn: &mut PgConnection, version: &str) -> Result<usize, StoreError> {
    let digits = |text: &str| text.chars().filter(char::is_ascii_digit).collect::<String>();
    let keep = digits(version);
    let mut reverted = 0;
    loop {
        let applied = conn
            .applied_migrations()
            .map_err(|e| StoreError::Unavailable(format!("reading the applied migrations failed: {e}")))?;
        let newest = applied.iter().map(|v| digits(&v.to_string())).max();
        if newest.is_none_or(|newest| newest <= keep) {
            return Ok(reverted);
        }
        revert_last_migration(conn)?;
        reverted += 1;
    }
}

/// Reverts every applied migration (tests and `skillpay migrate --revert-all`).
pub fn revert_all_migrations(conn: &mut PgConnection) -> Result<usize, StoreError> {
    conn.revert_all_migrations(MIGRATIONS)
        .map(|reverted| reverted.len())
        .map_err(|e| StoreError::Unavailable(format!("migration revert failed: {e}")))
}
