//! Random sequences of purchases (with and without coupon), confirmations,
//! declines, cancellations and refunds (partial, full, rejected) driven
//! through the domain's use cases into the real PostgreSQL adapter. After
//! every step the money invariants must hold: every journal balances, each
//! currency sums to zero, kept balances equal balances recomputed from the
//! entries, no payment has more refunded or requested than it was paid, and
//! each coupon's use counter equals its live redemptions.
//!
//! A failing case prints its minimal steps; proptest keeps its seed in
//! `proptest-regressions/` and replays it first on the next run. More cases:
//! `PROPTEST_CASES=1000 just test`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use adapters_postgres::testing::TestDb;
use adapters_postgres::{PgStore, PoolSettings};
use adapters_sandbox::SandboxGateway;
use domain::catalog::{Availability, CatalogItem, ItemRef};
use domain::coupon::{CouponCode, Discount, NewCoupon, Targeting};
use domain::ids::{CouponId, PaymentId, RefundId, UserId};
use domain::money::{Currency, Money, Rate};
use domain::payment::{BillingInfo, ClientInfo, PaymentMethod};
use domain::ports::{Catalog, Gateways, SystemClock, TimeOrderedIds};
use domain::usecases::coupons::CouponService;
use domain::usecases::payments::{CreatePayment, PaymentPolicy, PaymentPorts, PaymentService};
use domain::usecases::refunds::{RefundPorts, RefundService};
use domain::usecases::{Actor, Role};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Buy { user: i64, course: i64, coupon: bool },
    Confirm { payment: usize, success: bool },
    Cancel { payment: usize },
    Refund { payment: usize, share_percent: i64 },
    Approve { refund: usize },
    Reject { refund: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1_i64..6, 1_i64..4, any::<bool>()).prop_map(|(user, course, coupon)| Step::Buy { user, course, coupon }),
        3 => (any::<usize>(), prop::bool::weighted(0.8)).prop_map(|(payment, success)| Step::Confirm { payment, success }),
        1 => any::<usize>().prop_map(|payment| Step::Cancel { payment }),
        3 => (any::<usize>(), 0_i64..=100).prop_map(|(payment, share_percent)| Step::Refund { payment, share_percent }),
        3 => any::<usize>().prop_map(|refund| Step::Approve { refund }),
        1 => any::<usize>().prop_map(|refund| Step::Reject { refund }),
    ]
}

struct World {
    store: PgStore,
    payments: PaymentService,
    refunds: RefundService,
    made_payments: Vec<PaymentId>,
    made_refunds: Vec<RefundId>,
}

const ADMIN: Actor = Actor { user_id: UserId::new(1), role: Role::Admin };

fn student(user: i64) -> Actor {
    Actor { user_id: UserId::new(100 + user), role: Role::Student }
}

async fn world(db: &TestDb) -> World {
    let store = PgStore::connect(db.url(), &PoolSettings::default()).unwrap();
    let shared = Arc::new(store.clone());
    let gateways = Gateways::new().with(Arc::new(SandboxGateway));
    let ports = PaymentPorts {
        payments: shared.clone(),
        coupons: shared.clone(),
        catalog: shared.clone(),
        gateways: gateways.clone(),
        clock: Arc::new(SystemClock),
        ids: Arc::new(TimeOrderedIds),
    };
    let policy = PaymentPolicy {
        platform_fee_rate: Rate::from_str("0.2").unwrap(),
        instructor_fee_rates: HashMap::from([(UserId::new(12), Rate::from_str("0.1537").unwrap())]),
        max_amount_major: 1_000_000,
    };
    let refunds = RefundService::new(
        RefundPorts {
            refunds: shared.clone(),
            payments: shared.clone(),
            gateways,
            clock: Arc::new(SystemClock),
            ids: Arc::new(TimeOrderedIds),
        },
        30,
    );
    World {
        store,
        payments: PaymentService::new(ports, policy),
        refunds,
        made_payments: Vec::new(),
        made_refunds: Vec::new(),
    }
}

/// Courses with awkward prices (odd cents, a zero-decimal currency) and
/// two instructors, one with a fee override; a capped percentage coupon.
async fn seed(world: &World) {
    let items = [(1, 9_999, Currency::USD, 11), (2, 1_234_567, Currency::JPY, 12), (3, 101, Currency::USD, 12)];
    for (id, price, currency, instructor) in items {
        Catalog::upsert(
            &world.store,
            CatalogItem {
                item: ItemRef::course(id),
                title: format!("course {id}"),
                price: Money::from_minor(price, currency),
                instructor_id: UserId::new(instructor),
                availability: Availability::Active,
                updated_at: chrono::Utc::now(),
            },
        )
        .await
        .unwrap();
    }
    let coupons = CouponService::new(
        Arc::new(world.store.clone()),
        Arc::new(world.store.clone()),
        Arc::new(SystemClock),
        Arc::new(TimeOrderedIds),
    );
    let definition = NewCoupon {
        id: CouponId::from_uuid(uuid::Uuid::nil()),
        code: CouponCode::parse("THIRD").unwrap(),
        discount: Discount::Percentage { rate: Rate::from_str("0.3333").unwrap(), max_discount: None },
        currency: None,
        min_order_amount: None,
        max_uses: Some(4),
        max_uses_per_user: Some(2),
        valid_from: None,
        expires_at: None,
        targeting: Targeting::default(),
        is_active: true,
        created_at: chrono::Utc::now(),
    };
    coupons.create(ADMIN, definition).await.unwrap();
}

/// The `index`-th item, wrapping, so every index names something once
/// anything exists.
fn pick<T>(items: &[T], index: usize) -> Option<&T> {
    if items.is_empty() { None } else { items.get(index % items.len()) }
}

async fn apply(world: &mut World, step: &Step) {
    match step {
        Step::Buy { user, course, coupon } => {
            let command = CreatePayment {
                item: ItemRef::course(*course),
                coupon_code: coupon.then(|| CouponCode::parse("THIRD").unwrap()),
                method: PaymentMethod::Sandbox,
                billing: BillingInfo::default(),
                client: ClientInfo::default(),
            };
            if let Ok(created) = world.payments.create(student(*user), command).await {
                world.made_payments.push(created.payment.id);
            }
        }
        Step::Confirm { payment, success } => {
            if let Some(id) = pick(&world.made_payments, *payment) {
                let token = if *success { "sandbox_success" } else { "sandbox_decline" };
                let _ = world.payments.confirm(ADMIN, *id, token).await;
            }
        }
        Step::Cancel { payment } => {
            if let Some(id) = pick(&world.made_payments, *payment) {
                let _ = world.payments.cancel(ADMIN, *id).await;
            }
        }
        Step::Refund { payment, share_percent } => {
            if let Some(id) = pick(&world.made_payments, *payment) {
                let paid = world.payments.get(ADMIN, *id).await.unwrap();
                let amount = (*share_percent < 100)
                    .then(|| Money::from_minor(paid.amount.minor() * share_percent / 100, paid.amount.currency()));
                if let Ok(refund) = world.refunds.request(ADMIN, *id, amount, "property".into()).await {
                    world.made_refunds.push(refund.id);
                }
            }
        }
        Step::Approve { refund } => {
            if let Some(id) = pick(&world.made_refunds, *refund) {
                let _ = world.refunds.approve(ADMIN, *id).await;
            }
        }
        Step::Reject { refund } => {
            if let Some(id) = pick(&world.made_refunds, *refund) {
                let _ = world.refunds.reject(ADMIN, *id, "property".into()).await;
            }
        }
    }
}

fn check(world: &World) -> Result<(), TestCaseError> {
    let store = &world.store;
    let scalar = |sql: &str| store.scalar(sql).unwrap();
    let runtime = tokio::runtime::Handle::current();
    let verification = tokio::task::block_in_place(|| runtime.block_on(store.verify_ledger())).unwrap();
    prop_assert_eq!(verification.first_discrepancy, None);
    let totals = tokio::task::block_in_place(|| runtime.block_on(store.ledger_totals())).unwrap();
    prop_assert!(totals.iter().all(|(_, total)| *total == 0), "{:?}", totals);
    prop_assert_eq!(
        scalar(
            "SELECT count(*) AS n FROM payments p WHERE (SELECT coalesce(sum(amount_minor), 0) FROM refunds r
               WHERE r.payment_id = p.id AND r.status NOT IN ('rejected', 'failed')) > p.amount_minor"
        ),
        0
    );
    prop_assert_eq!(
        scalar(
            "SELECT count(*) AS n FROM payments p WHERE p.refunded_amount_minor <> (SELECT coalesce(sum(amount_minor), 0)
               FROM refunds r WHERE r.payment_id = p.id AND r.status = 'processed')"
        ),
        0
    );
    prop_assert_eq!(
        scalar(
            "SELECT count(*) AS n FROM payments p WHERE p.status = 'refunded' AND (SELECT coalesce(sum(platform_fee_reversed_minor), 0)
               FROM refunds r WHERE r.payment_id = p.id AND r.status = 'processed') <> p.platform_fee_minor"
        ),
        0
    );
    prop_assert_eq!(
        scalar(
            "SELECT count(*) AS n FROM coupons c WHERE c.times_used <> (SELECT count(*) FROM coupon_redemptions r
               WHERE r.coupon_id = c.id AND r.status IN ('reserved', 'confirmed'))"
        ),
        0
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32),
        ..ProptestConfig::default()
    })]

    #[test]
    fn money_invariants_hold_after_every_step(steps in proptest::collection::vec(step(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
            let mut world = world(&db).await;
            seed(&world).await;
            for step in &steps {
                apply(&mut world, step).await;
                check(&world)?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}
