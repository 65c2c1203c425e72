//! The payment paths' writes are prepared once per connection and then
//! reused, not parsed and planned again on every call (see `prepared.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use adapters_postgres::testing::TestDb;
use adapters_postgres::{PgStore, PoolSettings};
use adapters_sandbox::{SandboxGateway, TOKEN_SUCCESS};
use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Text};
use domain::catalog::{Availability, CatalogItem, ItemRef};
use domain::ids::UserId;
use domain::money::{Currency, Money, Rate};
use domain::payment::{BillingInfo, ClientInfo, PaymentMethod, PaymentStatus};
use domain::ports::{Catalog, Gateways, SystemClock, TimeOrderedIds};
use domain::usecases::payments::{CreatePayment, PaymentPolicy, PaymentPorts, PaymentService};
use domain::usecases::{Actor, Role};

#[derive(diesel::QueryableByName, Debug)]
struct Prepared {
    #[diesel(sql_type = Text)]
    statement: String,
    #[diesel(sql_type = BigInt)]
    runs: i64,
}

#[tokio::test]
async fn the_writes_of_a_purchase_and_its_completion_are_prepared_once_per_connection() {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    // One connection, so every statement below runs in the session inspected.
    let store = PgStore::connect(db.url(), &PoolSettings { max_connections: 1, ..PoolSettings::default() }).unwrap();
    let shared = Arc::new(store.clone());
    shared
        .upsert(CatalogItem {
            item: ItemRef::course(1),
            title: "Course".into(),
            price: Money::from_minor(1_000, Currency::USD),
            instructor_id: UserId::new(100),
            availability: Availability::Active,
            updated_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let ports = PaymentPorts {
        payments: shared.clone(),
        coupons: shared.clone(),
        catalog: shared,
        gateways: Gateways::new().with(Arc::new(SandboxGateway)),
        clock: Arc::new(SystemClock),
        ids: Arc::new(TimeOrderedIds),
    };
    let policy = PaymentPolicy {
        platform_fee_rate: Rate::from_str("0.20").unwrap(),
        instructor_fee_rates: HashMap::new(),
        max_amount_major: 1_000_000,
    };
    let payments = PaymentService::new(ports, policy);
    let purchases = 3;
    for user in 1..=purchases {
        let actor = Actor { user_id: UserId::new(user), role: Role::Student };
        let command = CreatePayment {
            item: ItemRef::course(1),
            coupon_code: None,
            method: PaymentMethod::Sandbox,
            billing: BillingInfo::default(),
            client: ClientInfo::default(),
        };
        let created = payments.create(actor, command).await.unwrap().payment;
        let completed = payments.confirm(actor, created.id, TOKEN_SUCCESS).await.unwrap().payment;
        assert_eq!(completed.status, PaymentStatus::Completed);
    }

    let prepared: Vec<Prepared> = tokio::task::spawn_blocking(move || {
        let mut conn = store.connection().unwrap();
        diesel::sql_query(
            "SELECT statement, generic_plans + custom_plans AS runs FROM pg_prepared_statements
             WHERE statement LIKE 'INSERT%' OR statement LIKE 'UPDATE%'
             ORDER BY statement",
        )
        .load(&mut conn)
        .unwrap()
    })
    .await
    .unwrap();
    let runs_of = |start: &str| -> Vec<i64> {
        prepared.iter().filter(|p| p.statement.starts_with(start)).map(|p| p.runs).collect()
    };
    // Each write of a purchase and of its completion: prepared once on the
    // connection and run for every purchase, never sent for parsing again.
    for write in [
        "INSERT INTO \"payments\"",
        "UPDATE \"payments\" SET \"provider_payment_id\"",
        "UPDATE \"payments\" SET \"status\"",
        "INSERT INTO \"ledger_journals\"",
        "INSERT INTO \"ledger_entries\"",
        "INSERT INTO \"outbox_events\"",
    ] {
        assert_eq!(runs_of(write), vec![purchases], "{write}: {prepared:#?}");
    }
    // One upsert per account the sale journal moves (buyer, platform fee,
    // instructor), all of one SQL text.
    assert_eq!(runs_of("INSERT INTO \"ledger_balances\""), vec![purchases * 3], "{prepared:#?}");
}
