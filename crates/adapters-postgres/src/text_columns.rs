//! Text columns decoded straight from the row into domain values, with no
//! owned `String` per row: for reads that return thousands of rows, where
//! an allocation and a by-name column lookup per field were most of the
//! server's work.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::Text;
use domain::money::Currency;
use domain::payment::{PaymentMethod, PaymentStatus, SettledStatus};

fn text<'a>(value: &'a PgValue<'_>) -> deserialize::Result<&'a str> {
    Ok(std::str::from_utf8(value.as_bytes())?)
}

/// A `currency` column.
#[derive(FromSqlRow)]
pub(crate) struct CurrencyColumn(pub Currency);

impl FromSql<Text, Pg> for CurrencyColumn {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(CurrencyColumn(Currency::from_code(text(&value)?).map_err(|_| "unreadable currency")?))
    }
}

/// A `payment_method` column.
#[derive(FromSqlRow)]
pub(crate) struct MethodColumn(pub PaymentMethod);

impl FromSql<Text, Pg> for MethodColumn {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(MethodColumn(text(&value)?.parse().map_err(|_| "unreadable payment method")?))
    }
}

/// A `status` column of the statistics aggregates, which keep `disputed`
/// without the status to return to: any settled one stands for it (its
/// name is what is shown).
#[derive(FromSqlRow)]
pub(crate) struct AggregateStatusColumn(pub PaymentStatus);

impl FromSql<Text, Pg> for AggregateStatusColumn {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let status = match text(&value)? {
            "disputed" => PaymentStatus::Disputed(SettledStatus::Completed),
            name => PaymentStatus::from_parts(name, None).map_err(|_| "unreadable payment status")?,
        };
        Ok(AggregateStatusColumn(status))
    }
}
