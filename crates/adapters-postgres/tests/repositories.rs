//! The storage ports on a real PostgreSQL, driven through the domain's use
//! cases so every write is the one production makes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use adapters_postgres::testing::TestDb;
use adapters_postgres::{BALANCE_SHARDS, PgStore, PoolSettings};
use adapters_sandbox::{SandboxGateway, TOKEN_SUCCESS};
use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Text};
use domain::builders::{CouponBuilder, CreatePaymentBuilder};
use domain::catalog::{Availability, CatalogItem, ItemRef};
use domain::coupon::{Discount, NewCoupon};
use domain::gateway_config::GatewayMode;
use domain::ids::{CouponId, UserId};
use domain::money::{Currency, Money, Rate};
use domain::payment::{ClientInfo, PaymentMethod, PaymentStatus};
use domain::ports::{Catalog, ChangeOutcome, Gateways, PaymentChange, PaymentRepository, SystemClock, TimeOrderedIds};
use domain::usecases::coupons::CouponService;
use domain::usecases::payments::{CreatePayment, CreatePaymentError, PaymentPolicy, PaymentPorts, PaymentService};
use domain::usecases::{Actor, Role};
use futures::future::join_all;

struct Fixture {
    _db: TestDb,
    store: PgStore,
    payments: PaymentService,
    coupons: CouponService,
}

async fn fixture() -> Fixture {
    fixture_with_connections(20).await
}

async fn fixture_with_connections(max_connections: u32) -> Fixture {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let store = PgStore::connect(db.url(), &PoolSettings { max_connections, ..PoolSettings::default() }).unwrap();
    let shared = Arc::new(store.clone());
    let ports = PaymentPorts {
        payments: shared.clone(),
        coupons: shared.clone(),
        catalog: shared.clone(),
        gateways: Gateways::new().with(Arc::new(SandboxGateway)),
        clock: Arc::new(SystemClock),
        ids: Arc::new(TimeOrderedIds),
    };
    let policy = PaymentPolicy {
        platform_fee_rate: Rate::from_str("0.20").unwrap(),
        instructor_fee_rates: HashMap::new(),
        max_amount: domain::per_currency::PerCurrency::every(rust_decimal::Decimal::from(1_000_000_i64)),
        gateway_fee_bearer: domain::ledger::FeeBearer::Platform,
    };
    let coupons = CouponService::new(shared.clone(), shared.clone(), Arc::new(SystemClock), Arc::new(TimeOrderedIds));
    shared
        .upsert(CatalogItem {
            item: ItemRef::course(1),
            title: "Course".into(),
            price: Money::from_minor(1_000, Currency::USD),
            instructor_id: UserId::new(100),
            availability: Availability::Active,
            capacity: None,
            tickets_per_buyer: 1,
            updated_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    Fixture { _db: db, store, payments: PaymentService::new(ports, policy), coupons }
}

fn student(id: i64) -> Actor {
    Actor::new(UserId::new(id), Role::Student)
}

fn admin() -> Actor {
    Actor::new(UserId::new(1), Role::Admin)
}

/// An active coupon `code` taking 1.00 USD off everything, with at most
/// `max_uses` uses in all (`None`: no limit, its uses counted on count rows).
fn one_dollar_off(code: &str, max_uses: Option<u32>) -> NewCoupon {
    CouponBuilder::new()
        .id(CouponId::from_uuid(uuid::Uuid::nil()))
        .code(code)
        .discount(Discount::Fixed { amount: Money::from_minor(100, Currency::USD) })
        .max_uses(max_uses)
        .created_at(chrono::Utc::now())
        .build_new()
}

fn buy(coupon: Option<&str>) -> CreatePayment {
    let client = ClientInfo { ip_address: Some("203.0.113.7".parse().unwrap()), user_agent: Some("test".into()) };
    let command = CreatePaymentBuilder::new().item(ItemRef::course(1)).method(PaymentMethod::Sandbox).client(client);
    match coupon {
        Some(code) => command.coupon_code(code).build(),
        None => command.build(),
    }
}

#[tokio::test]
async fn a_guarded_change_from_a_stale_status_writes_nothing() {
    let f = fixture().await;
    let created = f.payments.create(student(1), buy(None)).await.unwrap().payment;
    assert_eq!(created.client.ip_address, Some("203.0.113.7".parse().unwrap()));
    let stale = PaymentChange {
        payment_id: created.id,
        from: PaymentStatus::Processing,
        to: PaymentStatus::Completed,
        at: chrono::Utc::now(),
        completed_at: Some(chrono::Utc::now()),
        failure_reason: None,
        redemption: None,
        journal: None,
        outbox: Vec::new(),
        attention: None,
    };
    assert_eq!(f.store.apply(stale).await.unwrap(), ChangeOutcome::StatusMoved);
    let reread = PaymentRepository::find(&f.store, created.id).await.unwrap().unwrap();
    // Everything but the time of the last write (the provider id was
    // attached after the insert) is as created.
    assert_eq!(domain::payment::Payment { updated_at: created.updated_at, ..reread }, created.clone());
    let by_provider =
        f.store.find_by_provider_id(PaymentMethod::Sandbox, created.provider_payment_id.clone().unwrap()).await;
    assert_eq!(by_provider.unwrap().map(|p| p.id), Some(created.id));
}

#[tokio::test]
async fn concurrent_sales_spread_over_balance_shards_and_still_add_up() {
    let f = fixture().await;
    let sales = (0..40).map(|i| {
        let payments = f.payments.clone();
        async move {
            let created = payments.create(student(1_000 + i), buy(None)).await.unwrap().payment;
            payments.complete(created.id).await.unwrap()
        }
    });
    let completed = join_all(sales).await;
    assert!(completed.iter().all(|p| p.status == PaymentStatus::Completed));
    let revenue = f.store.account_balance("platform_revenue".into(), "USD".into(), false).await.unwrap();
    assert_eq!(revenue, -40 * 200);
    let shards =
        f.store.scalar("SELECT count(*) AS n FROM ledger_balances WHERE account = 'platform_revenue'").unwrap();
    assert!(shards > 1 && shards <= i64::from(BALANCE_SHARDS), "revenue sits on {shards} rows");
    assert_eq!(f.store.verify_ledger().await.unwrap().first_discrepancy, None);
}

#[tokio::test]
async fn coupon_limits_hold_when_reservations_race_in_the_adapter() {
    let f = fixture().await;
    let admin = admin();
    let coupon = f.coupons.create(admin, one_dollar_off("TEN", Some(10))).await.unwrap();
    let attempts = (0..30).map(|i| {
        let payments = f.payments.clone();
        async move { payments.create(student(5_000 + i), buy(Some("TEN"))).await }
    });
    let results = join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 10);
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| matches!(e, CreatePaymentError::Coupon(_))));
    let usage = f.coupons.usage(admin, coupon.id).await.unwrap();
    assert_eq!((usage.coupon.times_used, usage.usage.reserved), (10, 10));
    // Expiring one gives its use back.
    let first = results.iter().find_map(|r| r.as_ref().ok()).unwrap();
    f.payments.expire(first.payment.id).await.unwrap();
    let usage = f.coupons.usage(admin, coupon.id).await.unwrap();
    assert_eq!((usage.coupon.times_used, usage.usage.reserved, usage.usage.released), (9, 9, 1));
}

#[tokio::test]
async fn an_idempotency_key_whose_request_died_can_be_taken_over_after_its_lease() {
    use web_ports::idempotency::{ClaimLease, IdempotencyBegin, IdempotencyKey, IdempotencyStore};
    let f = fixture().await;
    let owner = UserId::new(9);
    let key = IdempotencyKey::parse("died-mid-request").unwrap();
    let lease = ClaimLease::default();
    assert_eq!(f.store.begin(owner, key.clone(), "same".into(), lease).await.unwrap(), IdempotencyBegin::Started);
    assert_eq!(f.store.begin(owner, key.clone(), "same".into(), lease).await.unwrap(), IdempotencyBegin::InProgress);
    // The first request never answered nor renewed; its lease runs out.
    f.store.scalar("WITH aged AS (UPDATE idempotency_keys SET created_at = now() - interval '2 minutes', lease_until = now() - interval '1 minute' RETURNING 1) SELECT count(*) AS n FROM aged").unwrap();
    assert_eq!(f.store.begin(owner, key.clone(), "different".into(), lease).await.unwrap(), IdempotencyBegin::Mismatch);
    assert_eq!(f.store.begin(owner, key.clone(), "same".into(), lease).await.unwrap(), IdempotencyBegin::Started);
    assert_eq!(f.store.begin(owner, key, "same".into(), lease).await.unwrap(), IdempotencyBegin::InProgress);
}

#[tokio::test]
async fn an_idempotency_claim_renewed_by_its_running_request_is_never_taken_over_however_old() {
    use web_ports::idempotency::{ClaimLease, IdempotencyBegin, IdempotencyKey, IdempotencyStore};
    let f = fixture().await;
    let owner = UserId::new(9);
    let key = IdempotencyKey::parse("slow-gateway").unwrap();
    let lease = ClaimLease::from_secs(1);
    assert_eq!(f.store.begin(owner, key.clone(), "same".into(), lease).await.unwrap(), IdempotencyBegin::Started);
    // Claimed long ago, longer than any lease, and still running: each
    // renewal pushes the lease forward, so a retry waits.
    let age = "WITH aged AS (UPDATE idempotency_keys SET created_at = now() - interval '10 minutes' RETURNING 1) \
               SELECT count(*) AS n FROM aged";
    f.store.scalar(age).unwrap();
    // Two leases' worth of renewals: without them the claim would lapse.
    for _ in 0..6 {
        tokio::time::sleep(lease.renew_every()).await;
        f.store.renew(owner, key.clone(), lease).await.unwrap();
        assert_eq!(
            f.store.begin(owner, key.clone(), "same".into(), lease).await.unwrap(),
            IdempotencyBegin::InProgress
        );
    }
    // Once its renewals stop, the lease runs out and a retry takes over.
    tokio::time::sleep(lease.length() + std::time::Duration::from_millis(200)).await;
    assert_eq!(f.store.begin(owner, key.clone(), "same".into(), lease).await.unwrap(), IdempotencyBegin::Started);
    // A completed key is not renewed back into progress.
    let done = web_ports::idempotency::StoredResponse { status: 201, body: b"{}".to_vec() };
    f.store.complete(owner, key.clone(), done.clone()).await.unwrap();
    f.store.renew(owner, key.clone(), lease).await.unwrap();
    assert_eq!(f.store.begin(owner, key, "same".into(), lease).await.unwrap(), IdempotencyBegin::Replay(done));
}

#[tokio::test]
async fn idempotency_keys_older_than_their_time_are_reaped_and_fresh_ones_kept() {
    use web_ports::idempotency::{ClaimLease, IdempotencyBegin, IdempotencyKey, IdempotencyStore};
    let f = fixture().await;
    let owner = UserId::new(9);
    let lease = ClaimLease::default();
    for key in ["old", "fresh"] {
        let begun = f.store.begin(owner, IdempotencyKey::parse(key).unwrap(), "fp".into(), lease).await.unwrap();
        assert_eq!(begun, IdempotencyBegin::Started);
    }
    f.store
        .scalar("WITH aged AS (UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old' RETURNING 1) SELECT count(*) AS n FROM aged")
        .unwrap();
    let reaped = f.store.reap(chrono::Utc::now() - chrono::Duration::hours(24)).await.unwrap();
    assert_eq!(reaped, 1);
    // The reaped key can be used afresh; the fresh one is still claimed.
    assert_eq!(
        f.store.begin(owner, IdempotencyKey::parse("old").unwrap(), "other".into(), lease).await.unwrap(),
        IdempotencyBegin::Started
    );
    assert_eq!(
        f.store.begin(owner, IdempotencyKey::parse("fresh").unwrap(), "fp".into(), lease).await.unwrap(),
        IdempotencyBegin::InProgress
    );
}

/// A row of `pg_prepared_statements`.
#[derive(diesel::QueryableByName, Debug)]
struct PreparedStatement {
    #[diesel(sql_type = Text)]
    statement: String,
    #[diesel(sql_type = BigInt)]
    runs: i64,
}

/// The statements prepared on the store's one connection.
async fn prepared_statements(store: PgStore) -> Vec<PreparedStatement> {
    tokio::task::spawn_blocking(move || {
        let mut conn = store.connection().unwrap();
        diesel::sql_query(
            "SELECT statement, generic_plans + custom_plans AS runs FROM pg_prepared_statements ORDER BY statement",
        )
        .load(&mut conn)
        .unwrap()
    })
    .await
    .unwrap()
}

/// How often each prepared statement whose SQL starts with `start` ran.
fn runs_of(prepared: &[PreparedStatement], start: &str) -> Vec<i64> {
    prepared.iter().filter(|p| p.statement.starts_with(start)).map(|p| p.runs).collect()
}

/// The payment paths' statements are prepared once per connection and then
/// reused, not parsed and planned again on every call (see `prepared.rs`).
#[tokio::test]
async fn the_statements_of_a_purchase_and_its_completion_are_prepared_once_per_connection() {
    // One connection, so every statement below runs in the session inspected.
    let f = fixture_with_connections(1).await;
    let (payments, store) = (f.payments, f.store.clone());
    // Unlimited, so its uses are counted on its count rows.
    f.coupons.create(admin(), one_dollar_off("OPEN", None)).await.unwrap();
    let purchases = 3;
    for user in 1..=purchases {
        let actor = student(user);
        let created = payments.create(actor, buy(Some("OPEN"))).await.unwrap().payment;
        let completed = payments.confirm(actor, created.id, TOKEN_SUCCESS).await.unwrap().payment;
        assert_eq!(completed.status, PaymentStatus::Completed);
    }

    let prepared = prepared_statements(store).await;
    // Each statement of a purchase with a coupon and of its completion:
    // prepared once on the connection and run for every purchase, never
    // sent for parsing again.
    for statement in [
        "SELECT \"coupons\".\"id\", \"coupons\".\"code\"",
        "INSERT INTO \"payments\"",
        "WITH redemption AS",
        "UPDATE \"payments\" SET \"provider_payment_id\"",
        "SELECT c.id FROM coupon_redemptions r JOIN coupons c",
        "UPDATE \"payments\" SET \"status\"",
        "WITH confirmed AS",
        "INSERT INTO \"outbox_events\"",
    ] {
        assert_eq!(runs_of(&prepared, statement), vec![purchases], "{statement}: {prepared:#?}");
    }
    // A journal, its three entries and the three kept balances it moves
    // (buyer, platform fee, instructor) are one statement.
    assert_eq!(runs_of(&prepared, "WITH journal AS"), vec![purchases], "{prepared:#?}");
    for separate in
        ["INSERT INTO \"ledger_journals\"", "INSERT INTO \"ledger_entries\"", "INSERT INTO \"ledger_balances\""]
    {
        assert!(runs_of(&prepared, separate).is_empty(), "{separate}: {prepared:#?}");
    }
}

/// The statistics' reads (hand-written SQL, which diesel never prepares by
/// itself) are prepared once per connection too, as their baseline is.
#[tokio::test]
async fn the_statistics_reads_are_prepared_once_per_connection() {
    use domain::ports::StatsQueries;
    let f = fixture_with_connections(1).await;
    let (payments, store) = (f.payments, f.store.clone());
    let actor = student(1);
    let created = payments.create(actor, buy(None)).await.unwrap().payment;
    payments.confirm(actor, created.id, TOKEN_SUCCESS).await.unwrap();
    let (from, to) = (created.created_at.date_naive() - chrono::Days::new(31), created.created_at.date_naive());
    for _ in 0..2 {
        store.range(GatewayMode::Test, from, to).await.unwrap();
        store.instructor_months(created.instructor_id, GatewayMode::Test, from, to).await.unwrap();
    }

    let prepared = prepared_statements(store).await;
    for read in ["SELECT day, status", "SELECT month, item_kind"] {
        assert_eq!(runs_of(&prepared, read), vec![2], "{read}: {prepared:#?}");
    }
}

/// The kept daily aggregates of a range come back summed over their shards
/// two ways: per status and method, and per day, settled or not; days
/// outside the range and keys whose payments net to zero are left out. The
/// disputes opened in the range come with them, per currency and whether
/// lost.
#[tokio::test]
async fn the_range_aggregates_are_summed_per_status_and_per_day_with_the_disputes_of_the_range() {
    use domain::ports::StatsQueries;
    use domain::stats::{DayAggregate, DisputeAggregate, StatusAggregate};
    let f = fixture().await;
    let disputed = f.payments.create(student(1), buy(None)).await.unwrap().payment;
    let (disputed, livemode) = (disputed.id, disputed.livemode);
    let mode = GatewayMode::of(livemode);
    let store = f.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = store.connection().unwrap();
        // (day, status, method, currency, shard, payments, amount, refunded),
        // of the disputed payment's mode; and one of the other mode, which
        // no read of this mode sees.
        diesel::sql_query(
            "INSERT INTO payment_stats_daily (livemode, day, status, payment_method, currency, shard, payments, \
                 amount_minor, discount_minor, platform_fee_minor, earnings_minor, refunded_minor) \
             SELECT $1, day::date, status, method, currency, shard, payments, amount, amount / 10, amount / 5, \
                 amount - amount / 5, refunded \
             FROM (VALUES ('2026-03-01', 'completed', 'stripe', 'USD', 0, 2, 2000, 0), \
                          ('2026-03-01', 'completed', 'stripe', 'USD', 3, 1, 1000, 500), \
                          ('2026-03-01', 'completed', 'paypal', 'USD', 1, 1, 1500, 0), \
                          ('2026-03-01', 'failed', 'stripe', 'USD', 0, 1, 900, 0), \
                          ('2026-03-02', 'completed', 'stripe', 'USD', 0, 4, 4000, 0), \
                          ('2026-03-02', 'completed', 'stripe', 'EUR', 0, 1, 700, 0), \
                          ('2026-03-02', 'expired', 'paypal', 'USD', 0, 1, 100, 0), \
                          ('2026-03-02', 'expired', 'paypal', 'USD', 2, -1, -100, 0), \
                          ('2026-04-01', 'completed', 'stripe', 'USD', 0, 9, 9000, 0)) \
                 AS r(day, status, method, currency, shard, payments, amount, refunded) \
             UNION ALL \
             SELECT NOT $1, '2026-03-01', 'completed', 'stripe', 'USD', 0, 50, 50000, 0, 0, 0, 0",
        )
        .bind::<diesel::sql_types::Bool, _>(livemode)
        .execute(&mut conn)
        .unwrap();
        // (opened, currency, amount, status): the first and last instants
        // of March count, the instants either side of it do not.
        diesel::sql_query(
            "INSERT INTO payment_disputes (id, payment_id, amount_minor, currency, reason, status, created_at, \
                 updated_at, livemode) \
             SELECT gen_random_uuid(), $1, amount, currency, 'fraudulent', status, opened::timestamptz, \
                 opened::timestamptz, (SELECT livemode FROM payments WHERE id = $1) \
             FROM (VALUES ('2026-03-01 00:00:00+00', 'USD', 1000, 'lost'), \
                          ('2026-03-15 12:00:00+00', 'USD', 500, 'won'), \
                          ('2026-03-31 23:59:59+00', 'USD', 2000, 'needs_response'), \
                          ('2026-03-20 08:00:00+00', 'EUR', 700, 'lost'), \
                          ('2026-02-28 23:59:59+00', 'USD', 9000, 'lost'), \
                          ('2026-04-01 00:00:00+00', 'USD', 9000, 'needs_response')) \
                 AS d(opened, currency, amount, status)",
        )
        .bind::<diesel::sql_types::Uuid, _>(disputed.uuid())
        .execute(&mut conn)
        .unwrap();
    })
    .await
    .unwrap();

    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
    let mut created = f.store.range(mode, day(1), day(31)).await.unwrap();
    created.by_status.sort_by_key(|s| (s.amount.currency().code().to_owned(), s.status.as_str(), s.method.as_str()));
    created.by_day.sort_by_key(|d| (d.day, d.amount.currency().code().to_owned(), d.settled));
    let (usd, eur) = (|m| Money::from_minor(m, Currency::USD), |m| Money::from_minor(m, Currency::EUR));
    let by_status = |status, method, currency: fn(i64) -> Money, payments, amount: i64, refunded| StatusAggregate {
        status,
        method,
        payments,
        amount: currency(amount),
        discount: currency(amount / 10),
        platform_fee: currency(amount / 5),
        refunded: currency(refunded),
        refunded_fee: currency(0),
        gateway_fee: currency(0),
        platform_gateway_fee: currency(0),
    };
    assert_eq!(
        created.by_status,
        vec![
            by_status(PaymentStatus::Completed, PaymentMethod::Stripe, eur, 1, 700, 0),
            by_status(PaymentStatus::Completed, PaymentMethod::Paypal, usd, 1, 1500, 0),
            by_status(PaymentStatus::Completed, PaymentMethod::Stripe, usd, 7, 7000, 500),
            by_status(PaymentStatus::Failed, PaymentMethod::Stripe, usd, 1, 900, 0),
        ]
    );
    let by_day = |d, currency: fn(i64) -> Money, settled, payments, amount, refunded| DayAggregate {
        day: day(d),
        settled,
        payments,
        amount: currency(amount),
        refunded: currency(refunded),
    };
    // The failed payment of the 1st is apart from the settled ones; the
    // expired one of the 2nd nets to zero over its shards.
    assert_eq!(
        created.by_day,
        vec![
            by_day(1, usd, false, 1, 900, 0),
            by_day(1, usd, true, 4, 4500, 500),
            by_day(2, eur, true, 1, 700, 0),
            by_day(2, usd, true, 4, 4000, 0),
        ]
    );
    created.disputes.sort_by_key(|d| (d.amount.currency().code().to_owned(), d.lost));
    let dispute = |disputes, amount, lost| DisputeAggregate { disputes, amount, lost };
    assert_eq!(
        created.disputes,
        vec![dispute(1, eur(700), true), dispute(2, usd(2500), false), dispute(1, usd(1000), true)]
    );
}
