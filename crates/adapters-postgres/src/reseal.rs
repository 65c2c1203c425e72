//! Re-sealing every secret at rest under the current key, so that a
//! rotated-out key can leave the configuration (`skillpay reseal`).
//!
//! Each sealed column is walked in pages by id. A value sealed under an
//! older key is opened and sealed again under the current one, and written
//! back only if the row still holds the value that was read (compare and
//! swap on the old ciphertext and key id): the running service may store a
//! new secret meanwhile, and that newer value must win. Such a row is read
//! again and handled as it now stands. Every row is its own statement, so
//! the walk holds no lock between rows and can be stopped and run again at
//! any point; rows already under the current key are only checked.

use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Bytea, Text};
use diesel::{QueryResult, QueryableByName, RunQueryDsl, sql_query};
use domain::ports::StoreError;
use uuid::Uuid;

use crate::crypto::Keyring;
use crate::errors::store_error;
use crate::pool::PgStore;

/// Default rows read per page.
pub const DEFAULT_RESEAL_BATCH: u32 = 500;

/// How often one row is read again after the service changed it under us
/// before it is left for the next run.
const SWAP_ATTEMPTS: u32 = 5;

/// A sealed column, its key id column and the associated data its values
/// were sealed with (the function the owning module seals with).
struct SealedColumn {
    table: &'static str,
    sealed: &'static str,
    key_id: &'static str,
    context: fn(Uuid) -> String,
}

/// Every column holding sealed values. A new one must be added here, or
/// its values keep an old key alive (`tests/reseal.rs` checks the schema
/// for columns that look sealed).
const SEALED_COLUMNS: [SealedColumn; 3] = [
    SealedColumn {
        table: "payouts",
        sealed: "destination_encrypted",
        key_id: "destination_key_id",
        context: crate::payouts::context,
    },
    SealedColumn {
        table: "event_endpoints",
        sealed: "secret_sealed",
        key_id: "secret_key_id",
        context: crate::events::context,
    },
    SealedColumn {
        table: "payment_gateway_configs",
        sealed: "credentials_encrypted",
        key_id: "key_id",
        context: crate::gateway_configs::context,
    },
];

/// What a re-seal did to one sealed column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// `table.column`.
    pub column: String,
    /// Values sealed again under the current key.
    pub resealed: u64,
    /// Values already under the current key (and opening with it).
    pub already_current: u64,
    /// Rows whose value opens with no configured key: row id and why (the
    /// key id unknown, or the value does not open); never the value.
    pub failed: Vec<(Uuid, String)>,
    /// Rows the service kept changing while we tried: run again.
    pub still_changing: u64,
}

impl ResealReport {
    /// Whether every value of the column is now under the current key.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.still_changing == 0
    }
}

#[derive(QueryableByName)]
struct SealedRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = Bytea)]
    sealed: Vec<u8>,
    #[diesel(sql_type = Text)]
    key_id: String,
}

enum Outcome {
    Resealed,
    Current,
    Failed(String),
    StillChanging,
    /// Deleted meanwhile: nothing left to re-seal.
    Gone,
}

impl PgStore {
    /// Re-seals every sealed value under the store's current key, reading
    /// `batch` rows at a time; answers one report per sealed column. Safe
    /// while the service runs and safe to repeat. Errors only when the
    /// database does; a value that does not open is reported, not an error.
    pub async fn reseal(&self, batch: u32) -> Result<Vec<ResealReport>, StoreError> {
        let keyring = self.keyring().ok_or_else(|| StoreError::Unavailable("no encryption key configured".into()))?;
        let mut reports = Vec::with_capacity(SEALED_COLUMNS.len());
        for (index, column) in SEALED_COLUMNS.iter().enumerate() {
            let mut report =
                ResealReport { column: format!("{}.{}", column.table, column.sealed), ..ResealReport::default() };
            let mut after = None;
            loop {
                let keyring = keyring.clone();
                let (last, done) =
                    self.run(move |conn| reseal_page(conn, &SEALED_COLUMNS[index], &keyring, after, batch)).await?;
                for (id, outcome) in done {
                    match outcome {
                        Outcome::Resealed => report.resealed += 1,
                        Outcome::Current => report.already_current += 1,
                        Outcome::Failed(why) => report.failed.push((id, why)),
                        Outcome::StillChanging => report.still_changing += 1,
                        Outcome::Gone => {}
                    }
                }
                match last {
                    Some(id) => after = Some(id),
                    None => break,
                }
            }
            tracing::info!(column = %report.column, resealed = report.resealed, "sealed column walked");
            reports.push(report);
        }
        Ok(reports)
    }
}

/// The last id of a page that may not be the last one, and each row's
/// outcome.
type PageDone = (Option<Uuid>, Vec<(Uuid, Outcome)>);

/// One page after `after`.
fn reseal_page(
    conn: &mut PgConnection,
    column: &SealedColumn,
    keyring: &Keyring,
    after: Option<Uuid>,
    batch: u32,
) -> Result<PageDone, StoreError> {
    let rows = read_page(conn, column, after, batch).map_err(store_error)?;
    let full = u32::try_from(rows.len()).is_ok_and(|n| n >= batch);
    let last = if full { rows.last().map(|row| row.id) } else { None };
    let mut done = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.id;
        done.push((id, reseal_row(conn, column, keyring, row)?));
    }
    Ok((last, done))
}

fn reseal_row(
    conn: &mut PgConnection,
    column: &SealedColumn,
    keyring: &Keyring,
    mut row: SealedRow,
) -> Result<Outcome, StoreError> {
    for _ in 0..SWAP_ATTEMPTS {
        let context = (column.context)(row.id);
        let plain = match keyring.open(&row.key_id, &row.sealed, &context) {
            Ok(plain) => plain,
            Err(why) => return Ok(Outcome::Failed(why.to_string())),
        };
        if row.key_id == keyring.current_id() {
            return Ok(Outcome::Current);
        }
        let (key_id, sealed) = keyring.seal(&plain, &context).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        if swap(conn, column, &row, &key_id, &sealed).map_err(store_error)? == 1 {
            return Ok(Outcome::Resealed);
        }
        // The service wrote the row since we read it: take what it wrote.
        match read_one(conn, column, row.id).map_err(store_error)? {
            Some(fresh) => row = fresh,
            None => return Ok(Outcome::Gone),
        }
    }
    Ok(Outcome::StillChanging)
}

// The identifiers below come from `SEALED_COLUMNS` only, never from input.

fn read_page(
    conn: &mut PgConnection,
    column: &SealedColumn,
    after: Option<Uuid>,
    batch: u32,
) -> QueryResult<Vec<SealedRow>> {
    let SealedColumn { table, sealed, key_id, .. } = column;
    let select = format!("SELECT id, {sealed} AS sealed, {key_id} AS key_id FROM {table} WHERE {sealed} IS NOT NULL");
    match after {
        None => sql_query(format!("{select} ORDER BY id LIMIT $1")).bind::<BigInt, _>(i64::from(batch)).load(conn),
        Some(after) => sql_query(format!("{select} AND id > $1 ORDER BY id LIMIT $2"))
            .bind::<diesel::sql_types::Uuid, _>(after)
            .bind::<BigInt, _>(i64::from(batch))
            .load(conn),
    }
}

fn read_one(conn: &mut PgConnection, column: &SealedColumn, id: Uuid) -> QueryResult<Option<SealedRow>> {
    let SealedColumn { table, sealed, key_id, .. } = column;
    sql_query(format!(
        "SELECT id, {sealed} AS sealed, {key_id} AS key_id FROM {table} WHERE id = $1 AND {sealed} IS NOT NULL"
    ))
    .bind::<diesel::sql_types::Uuid, _>(id)
    .load(conn)
    .map(|mut rows: Vec<SealedRow>| rows.pop())
}

/// Writes the new seal only over the value that was read; answers the rows
/// written (0: the row changed or went meanwhile).
fn swap(
    conn: &mut PgConnection,
    column: &SealedColumn,
    read: &SealedRow,
    key_id: &str,
    sealed: &[u8],
) -> QueryResult<usize> {
    let SealedColumn { table, sealed: sealed_column, key_id: key_column, .. } = column;
    sql_query(format!(
        "UPDATE {table} SET {sealed_column} = $1, {key_column} = $2 \
         WHERE id = $3 AND {sealed_column} = $4 AND {key_column} = $5"
    ))
    .bind::<Bytea, _>(sealed)
    .bind::<Text, _>(key_id)
    .bind::<diesel::sql_types::Uuid, _>(read.id)
    .bind::<Bytea, _>(&read.sealed)
    .bind::<Text, _>(&read.key_id)
    .execute(conn)
}
