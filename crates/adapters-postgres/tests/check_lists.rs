//! The database's CHECK lists of names match the domain's enums: a new
//! status or method added in one place and forgotten in the other fails
//! here rather than at the first write of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use adapters_postgres::testing::TestDb;
use adapters_postgres::{PgStore, PoolSettings};
use diesel::RunQueryDsl;
use diesel::sql_types::Text;
use domain::catalog::ItemKind;
use domain::dispute::DisputeStatus;
use domain::events::DeliveryStatus;
use domain::payment::{PaymentMethod, PaymentStatus};
use domain::payout::{PayoutMethod, PayoutStatus};
use domain::refund::{RefundOrigin, RefundStatus};
use domain::usecases::Role;

#[derive(diesel::QueryableByName)]
struct Definition {
    #[diesel(sql_type = Text)]
    definition: String,
}

/// The names a CHECK constraint of `table` allows in `column`, as
/// PostgreSQL prints it: `CHECK ((column = ANY (ARRAY['a'::text, ...])))`.
fn allowed(store: &PgStore, table: &str, column: &str) -> BTreeSet<String> {
    let mut conn = store.connection().unwrap();
    let definitions: Vec<Definition> = diesel::sql_query(
        "SELECT pg_get_constraintdef(c.oid) AS definition FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid \
         WHERE t.relname = $1 AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%(' || $2 || ' = ANY %'",
    )
    .bind::<Text, _>(table)
    .bind::<Text, _>(column)
    .load(&mut conn)
    .unwrap();
    assert_eq!(definitions.len(), 1, "one list of names for {table}.{column}: {:?}", definitions.len());
    // Between single quotes: every other piece.
    definitions[0].definition.split('\'').skip(1).step_by(2).map(str::to_owned).collect()
}

fn names<T>(all: impl IntoIterator<Item = T>, name: impl Fn(&T) -> &'static str) -> BTreeSet<String> {
    all.into_iter().map(|value| name(&value).to_owned()).collect()
}

#[test]
fn every_check_list_names_exactly_the_domains_values() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), &PoolSettings::default()).unwrap();
    let cases: [(&str, &str, BTreeSet<String>); 11] = [
        ("payments", "payment_method", names(PaymentMethod::ALL, PaymentMethod::as_str)),
        ("payments", "status", PaymentStatus::NAMES.iter().map(|n| (*n).to_owned()).collect()),
        ("refunds", "status", names(RefundStatus::ALL, RefundStatus::as_str)),
        ("refunds", "origin", names(RefundOrigin::ALL, RefundOrigin::as_str)),
        ("payouts", "method", names(PayoutMethod::ALL, PayoutMethod::as_str)),
        ("payouts", "status", names(PayoutStatus::ALL, PayoutStatus::as_str)),
        ("payment_disputes", "status", names(DisputeStatus::ALL, DisputeStatus::as_str)),
        ("event_deliveries", "status", names(DeliveryStatus::ALL, DeliveryStatus::as_str)),
        ("catalog_items", "kind", names([ItemKind::Course, ItemKind::Event], ItemKind::as_str)),
        ("instructor_stats_monthly", "item_kind", names([ItemKind::Course, ItemKind::Event], ItemKind::as_str)),
        ("audit_log", "actor_role", names([Role::Student, Role::Instructor, Role::Admin], Role::as_str)),
    ];
    for (table, column, domain) in cases {
        assert_eq!(allowed(&store, table, column), domain, "{table}.{column} and the domain's names differ");
    }
}

/// A gateway whose credentials admins may store must be allowed as a
/// stored configuration's provider.
#[test]
fn every_gateway_with_stored_credentials_is_an_allowed_provider() {
    let db = TestDb::new();
    let store = PgStore::connect(db.url(), &PoolSettings::default()).unwrap();
    let allowed = allowed(&store, "payment_gateway_configs", "provider");
    let storable = PaymentMethod::ALL.into_iter().filter(|p| domain::gateway_config::credential_names(*p).is_some());
    for provider in storable {
        assert!(allowed.contains(provider.as_str()), "{provider:?} is not allowed in payment_gateway_configs");
    }
}
