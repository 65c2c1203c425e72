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

/// Reverts applied migrations, newest first, down to and including the
/// one of `version` (its directory's date and number, such as
/// `2026-12-07-000024`); answers how many it reverted. For tests of a
/// migration's handling of rows written before it, however many
/// migrations came after it.
pub fn revert_migrations_through(conn: &mut PgConnection, version: &str) -> Result<usize, StoreError> {
    let digits = |name: &str| name.chars().filter(char::is_ascii_digit).collect::<String>();
    let wanted = digits(version);
    let mut reverted = 0;
    loop {
        let done = conn
            .revert_last_migration(MIGRATIONS)
            .map_err(|e| StoreError::Unavailable(format!("migration revert failed: {e}")))?;
        reverted += 1;
        if digits(&done.to_string()) == wanted {
            return Ok(reverted);
        }
    }
}

/// Reverts every applied migration (tests and `skillpay migrate --revert-all`).
pub fn revert_all_migrations(conn: &mut PgConnection) -> Result<usize, StoreError> {
    conn.revert_all_migrations(MIGRATIONS)
        .map(|reverted| reverted.len())
        .map_err(|e| StoreError::Unavailable(format!("migration revert failed: {e}")))
}
