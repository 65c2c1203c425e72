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

/// Reverts every applied migration (tests and `skillpay migrate --revert-all`).
pub fn revert_all_migrations(conn: &mut PgConnection) -> Result<usize, StoreError> {
    conn.revert_all_migrations(MIGRATIONS)
        .map(|reverted| reverted.len())
        .map_err(|e| StoreError::Unavailable(format!("migration revert failed: {e}")))
}
