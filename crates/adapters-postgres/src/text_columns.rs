//! Text columns decoded straight from the row into domain values, with no
//! owned `String` per row: for reads that return thousands of rows, where
//! an allocation and a by-name column lookup per field were most of the
//! server's work.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::Text;
use domain::money::Currency;
use domain::payment::{PaymentMethod, PaymentStatus, SettledStatus};

/// A column whose text names a domain value.
trait TextColumn: Sized {
    fn parse(text: &str) -> Result<Self, &'static str>;
}

/// Decodes a [`TextColumn`] from diesel's rows.
macro_rules! text_column {
    ($column:ty) => {
        impl FromSql<Text, Pg> for $column {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                Ok(<$column>::parse(std::str::from_utf8(value.as_bytes())?)?)
            }
        }
    };
}

/// A `currency` column.
#[derive(FromSqlRow)]
pub(crate) struct CurrencyColumn(pub Currency);

impl TextColumn for CurrencyColumn {
    fn parse(text: &str) -> Result<Self, &'static str> {
        Currency::from_code(text).map(CurrencyColumn).map_err(|_| "unreadable currency")
    }
}

text_column!(CurrencyColumn);

/// A `payment_method` column.
#[derive(FromSqlRow)]
pub(crate) struct MethodColumn(pub PaymentMethod);

impl TextColumn for MethodColumn {
    fn parse(text: &str) -> Result<Self, &'static str> {
        text.parse().map(MethodColumn).map_err(|_| "unreadable payment method")
    }
}

text_column!(MethodColumn);

/// A `status` column of the statistics aggregates, which keep `disputed`
/// without the status to return to: any settled one stands for it (its
/// name is what is shown).
#[derive(FromSqlRow)]
pub(crate) struct AggregateStatusColumn(pub PaymentStatus);

impl TextColumn for AggregateStatusColumn {
    fn parse(text: &str) -> Result<Self, &'static str> {
        let status = match text {
            "disputed" => PaymentStatus::Disputed(SettledStatus::Completed),
            name => PaymentStatus::from_parts(name, None).map_err(|_| "unreadable payment status")?,
        };
        Ok(AggregateStatusColumn(status))
    }
}

text_column!(AggregateStatusColumn);
