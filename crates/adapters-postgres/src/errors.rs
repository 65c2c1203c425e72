//! Mapping of diesel and pool errors to the domain's storage errors.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::ports::StoreError;

/// A diesel error as a domain storage error; the message goes to logs only.
pub(crate) fn store_error(error: DieselError) -> StoreError {
    match &error {
        DieselError::DatabaseError(
            DatabaseErrorKind::CheckViolation
            | DatabaseErrorKind::ForeignKeyViolation
            | DatabaseErrorKind::NotNullViolation
            | DatabaseErrorKind::UniqueViolation,
            info,
        ) => StoreError::Corrupt(info.message().to_owned()),
        // A stored value that does not decode (see `text_columns.rs`) will
        // not decode on a retry either.
        DieselError::DeserializationError(cause) => StoreError::Corrupt(cause.to_string()),
        _ => StoreError::Unavailable(error.to_string()),
    }
}

/// A stored value that does not convert back into a domain value.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("unreadable {what}"))
}

/// Errors inside a transaction: a business refusal or a database error.
#[derive(Debug)]
pub(crate) enum TxError<E> {
    Refused(E),
    Db(DieselError),
    Store(StoreError),
}

impl<E> From<DieselError> for TxError<E> {
    fn from(error: DieselError) -> Self {
        TxError::Db(error)
    }
}

impl<E> From<StoreError> for TxError<E> {
    fn from(error: StoreError) -> Self {
        TxError::Store(error)
    }
}

impl<E> TxError<E> {
    /// The same error with its refusal made another's.
    pub(crate) fn map_refusal<F>(self, f: impl FnOnce(E) -> F) -> TxError<F> {
        match self {
            TxError::Refused(e) => TxError::Refused(f(e)),
            TxError::Db(e) => TxError::Db(e),
            TxError::Store(e) => TxError::Store(e),
        }
    }

    pub(crate) fn into_result(self) -> Result<E, StoreError> {
        match self {
            TxError::Refused(e) => Ok(e),
            TxError::Db(e) => Err(store_error(e)),
            TxError::Store(e) => Err(e),
        }
    }
}

/// Runs `work` in a transaction, rolled back when it answers an error.
pub(crate) fn store_transaction<T>(
    conn: &mut diesel::PgConnection,
    work: impl FnOnce(&mut diesel::PgConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    use diesel::Connection;
    conn.transaction(|conn| work(conn).map_err(TxError::<()>::Store)).map_err(|e| match e.into_result() {
        Ok(()) => StoreError::Corrupt("refused without a reason".to_owned()),
        Err(e) => e,
    })
}
