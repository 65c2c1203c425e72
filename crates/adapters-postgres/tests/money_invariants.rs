//! Random sequences of purchases (with and without coupon), confirmations,
//! declines, cancellations, refunds (partial, full, rejected), disputes (won,
//! lost), releases of held earnings and payouts (requested, approved, paid,
//! failed, rejected) driven through the domain's use cases into the real
//! PostgreSQL adapter. After every step the money invariants must hold: every
//! journal balances, each currency sums to zero, kept balances equal balances
//! recomputed from the entries, no payment has more refunded or requested
//! than it was paid, each coupon's use counter equals its live redemptions,
//! a payout never takes more than was available, in-transit and paid-out
//! balances match the payouts, pending balances match the unreleased sales,
//! and the kept statistics match the payments.
//!
//! A failing case prints its minimal steps; proptest keeps its seed in
//! `proptest-regressions/` and replays it first on the next run. More cases:
//! `PROPTEST_CASES=1000 just test`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use adapters_postgres::testing::TestDb;
use adapters_postgres::{Keyring, PgStore, PoolSettings};
use adapters_sandbox::SandboxPayouts;
use async_trait::async_trait;
use domain::builders::{CouponBuilder, CreatePaymentBuilder};
use domain::catalog::{Availability, CatalogItem, ItemRef};
use domain::coupon::Discount;
use domain::dispute::{DisputeFeeBearer, DisputeStatus};
use domain::gateway_config::GatewayMode;
use domain::ids::{CouponId, PaymentId, PayoutId, RefundId, UserId};
use domain::money::{Currency, Money, Rate};
use domain::payment::PaymentMethod;
use domain::payout::{PayoutDestination, PayoutMethod};
use domain::ports::{
    Catalog, DisputeEvidence, DisputeGateway, GatewayDispute, GatewayError, Gateways, PayoutGateways, PayoutRepository,
    SystemClock, TimeOrderedIds,
};
use domain::usecases::coupons::CouponService;
use domain::usecases::disputes::{DisputeFeePolicy, DisputePorts, DisputeService};
use domain::usecases::payments::{PaymentPolicy, PaymentPorts, PaymentService};
use domain::usecases::payouts::{PayoutPolicy, PayoutPorts, PayoutService};
use domain::usecases::refunds::{RefundPorts, RefundService};
use domain::usecases::{Actor, Role};
use proptest::prelude::*;

/// Disputes the test scripts, added to the sandbox: `dispute()` answers what
/// the "bank" last decided for that id (the gateway's side of a dispute).
#[derive(Default)]
struct SandboxWithDisputes {
    disputes: Mutex<HashMap<String, GatewayDispute>>,
}

impl SandboxWithDisputes {
    fn decide(&self, id: &str, dispute: GatewayDispute) {
        self.disputes.lock().unwrap().insert(id.to_owned(), dispute);
    }
}

#[async_trait]
impl DisputeGateway for SandboxWithDisputes {
    async fn dispute(&self, id: &str) -> Result<GatewayDispute, GatewayError> {
        self.disputes.lock().unwrap().get(id).cloned().ok_or(GatewayError::UnknownPayment)
    }
    async fn submit_dispute_evidence(&self, id: &str, _: &DisputeEvidence) -> Result<GatewayDispute, GatewayError> {
        self.dispute(id).await
    }
    async fn accept_dispute(&self, id: &str) -> Result<GatewayDispute, GatewayError> {
        self.dispute(id).await
    }
}

#[derive(Debug, Clone)]
enum Step {
    Buy { user: i64, course: i64, coupon: bool },
    Confirm { payment: usize, success: bool },
    Cancel { payment: usize },
    Refund { payment: usize, share_percent: i64 },
    Approve { refund: usize },
    Reject { refund: usize },
    OpenDispute { payment: usize, share_percent: i64 },
    DecideDispute { dispute: usize, won: bool },
    Release,
    RequestPayout { instructor: i64, share_percent: i64, bank: bool, declined: bool },
    ApprovePayout { payout: usize },
    RejectPayout { payout: usize },
    SettleBankPayout { payout: usize, paid: bool },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1_i64..6, 1_i64..4, any::<bool>()).prop_map(|(user, course, coupon)| Step::Buy { user, course, coupon }),
        3 => (any::<usize>(), prop::bool::weighted(0.8)).prop_map(|(payment, success)| Step::Confirm { payment, success }),
        1 => any::<usize>().prop_map(|payment| Step::Cancel { payment }),
        3 => (any::<usize>(), 0_i64..=100).prop_map(|(payment, share_percent)| Step::Refund { payment, share_percent }),
        3 => any::<usize>().prop_map(|refund| Step::Approve { refund }),
        1 => any::<usize>().prop_map(|refund| Step::Reject { refund }),
        2 => (any::<usize>(), 1_i64..=100).prop_map(|(payment, share_percent)| Step::OpenDispute { payment, share_percent }),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(dispute, won)| Step::DecideDispute { dispute, won }),
        2 => Just(Step::Release),
        4 => (11_i64..13, 20_i64..=110, any::<bool>(), prop::bool::weighted(0.2)).prop_map(
            |(instructor, share_percent, bank, declined)| Step::RequestPayout { instructor, share_percent, bank, declined }
        ),
        2 => any::<usize>().prop_map(|payout| Step::ApprovePayout { payout }),
        1 => any::<usize>().prop_map(|payout| Step::RejectPayout { payout }),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(payout, paid)| Step::SettleBankPayout { payout, paid }),
    ]
}

struct World {
    store: PgStore,
    payments: PaymentService,
    refunds: RefundService,
    disputes: DisputeService,
    payouts: PayoutService,
    bank: Arc<SandboxWithDisputes>,
    made_payments: Vec<PaymentId>,
    made_refunds: Vec<RefundId>,
    made_disputes: Vec<(String, GatewayDispute)>,
    made_payouts: Vec<PayoutId>,
}

const ADMIN: Actor = Actor::new(UserId::new(1), Role::Admin);

fn student(user: i64) -> Actor {
    Actor::new(UserId::new(100 + user), Role::Student)
}

async fn world(db: &TestDb) -> World {
    let store =
        PgStore::connect(db.url(), &PoolSettings::default()).unwrap().with_keyring(Keyring::new([7; 32], &[]).unwrap());
    let shared = Arc::new(store.clone());
    let bank = Arc::new(SandboxWithDisputes::default());
    let gateways = Gateways::new().register(adapters_sandbox::descriptor().disputes(bank.clone()));
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
        max_amount: domain::per_currency::PerCurrency::every(rust_decimal::Decimal::from(1_000_000_i64)),
        gateway_fee_bearer: domain::ledger::FeeBearer::Platform,
    };
    // One admin approves any amount here; two-admin approval is tested end to end.
    let dual_control = domain::usecases::dual_control::DualControl::new(
        domain::usecases::dual_control::SecondApprovalPolicy::default(),
        shared.clone(),
        Arc::new(SystemClock),
    );
    let refunds = RefundService::new(
        RefundPorts {
            refunds: shared.clone(),
            payments: shared.clone(),
            gateways: gateways.clone(),
            clock: Arc::new(SystemClock),
            ids: Arc::new(TimeOrderedIds),
            dual_control: dual_control.clone(),
        },
        30,
    );
    let disputes = DisputeService::new(
        DisputePorts {
            disputes: shared.clone(),
            payments: shared.clone(),
            gateways,
            clock: Arc::new(SystemClock),
            ids: Arc::new(TimeOrderedIds),
        },
        DisputeFeePolicy {
            fees: HashMap::from([(Currency::USD, Money::from_minor(1_500, Currency::USD))]),
            bearer: Some(DisputeFeeBearer::Instructor),
        },
    );
    let payouts = PayoutService::new(
        PayoutPorts {
            payouts: shared.clone(),
            earnings: shared.clone(),
            gateways: PayoutGateways::new()
                .with(Arc::new(SandboxPayouts::new(PayoutMethod::StripeConnect)), GatewayMode::Test),
            clock: Arc::new(SystemClock),
            ids: Arc::new(TimeOrderedIds),
            dual_control,
        },
        // Released by the next release step: the test controls when.
        PayoutPolicy {
            minimum: domain::per_currency::PerCurrency::every(rust_decimal::Decimal::TEN),
            hold: chrono::Duration::zero(),
        },
    );
    World {
        store,
        payments: PaymentService::new(ports, policy),
        refunds,
        disputes,
        payouts,
        bank,
        made_payments: Vec::new(),
        made_refunds: Vec::new(),
        made_disputes: Vec::new(),
        made_payouts: Vec::new(),
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
                capacity: None,
                tickets_per_buyer: 1,
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
    let definition = CouponBuilder::new()
        .id(CouponId::from_uuid(uuid::Uuid::nil()))
        .code("THIRD")
        .discount(Discount::Percentage { rate: Rate::from_str("0.3333").unwrap(), max_discount: None })
        .max_uses(Some(4))
        .max_uses_per_user(Some(2))
        .created_at(chrono::Utc::now())
        .build_new();
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
            let command = CreatePaymentBuilder::new().item(ItemRef::course(*course)).method(PaymentMethod::Sandbox);
            let command = if *coupon { command.coupon_code("THIRD").build() } else { command.build() };
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
                let _ = world.refunds.approve(ADMIN, *id, None).await;
            }
        }
        Step::Reject { refund } => {
            if let Some(id) = pick(&world.made_refunds, *refund) {
                let _ = world.refunds.reject(ADMIN, *id, "property".into()).await;
            }
        }
        Step::OpenDispute { payment, share_percent } => {
            if let Some(id) = pick(&world.made_payments, *payment) {
                let paid = world.payments.get(ADMIN, *id).await.unwrap();
                let (Some(provider_payment_id), true) = (paid.provider_payment_id.clone(), paid.amount.minor() > 0)
                else {
                    return;
                };
                let amount = (paid.amount.minor() * share_percent / 100).max(1);
                let seen = GatewayDispute {
                    provider_payment_id,
                    amount: Money::from_minor(amount, paid.amount.currency()),
                    reason: "fraudulent".into(),
                    status: DisputeStatus::NeedsResponse,
                    evidence_due_by: None,
                };
                let dispute_id = format!("dp_{}", world.made_disputes.len());
                world.bank.decide(&dispute_id, seen.clone());
                let _ = world.disputes.sync(PaymentMethod::Sandbox, &dispute_id).await;
                world.made_disputes.push((dispute_id, seen));
            }
        }
        Step::DecideDispute { dispute, won } => {
            if let Some((id, seen)) = pick(&world.made_disputes, *dispute) {
                let status = if *won { DisputeStatus::Won } else { DisputeStatus::Lost };
                world.bank.decide(id, GatewayDispute { status, ..seen.clone() });
                let _ = world.disputes.sync(PaymentMethod::Sandbox, id).await;
            }
        }
        Step::Release => {
            world.payouts.release_due_earnings(1_000).await.unwrap();
        }
        Step::RequestPayout { instructor, share_percent, bank, declined } => {
            // Instructor 11 sells in USD, 12 mostly in JPY (see `seed`).
            let currency = if *instructor == 11 { Currency::USD } else { Currency::JPY };
            let actor = Actor::new(UserId::new(*instructor), Role::Instructor);
            let before = PayoutRepository::balance(&world.store, actor.user_id, currency, false).await.unwrap();
            // Up to 110 % of what is available: some requests must be refused.
            let amount = Money::from_minor((before.available.minor() * share_percent / 100).max(1), currency);
            let destination = match (bank, declined) {
                (true, _) => PayoutDestination::BankTransfer {
                    account_holder: "Ada".into(),
                    account_number: "DE89370400440532013000".into(),
                    bank_code: None,
                },
                (false, true) => PayoutDestination::StripeConnect { account_id: "acct_sandboxdecline".into() },
                (false, false) => PayoutDestination::StripeConnect { account_id: "acct_property".into() },
            };
            let result = world.payouts.request(actor, amount, destination, Some(false)).await;
            if let Ok(payout) = result {
                assert!(amount.minor() <= before.available.minor(), "a payout took more than was available");
                let after = PayoutRepository::balance(&world.store, actor.user_id, currency, false).await.unwrap();
                assert_eq!(after.available.minor(), before.available.minor() - amount.minor());
                world.made_payouts.push(payout.id);
            }
        }
        Step::ApprovePayout { payout } => {
            if let Some(id) = pick(&world.made_payouts, *payout) {
                let _ = world.payouts.approve(ADMIN, *id, None).await;
            }
        }
        Step::RejectPayout { payout } => {
            if let Some(id) = pick(&world.made_payouts, *payout) {
                let _ = world.payouts.reject(ADMIN, *id, "property".into()).await;
            }
        }
        Step::SettleBankPayout { payout, paid } => {
            if let Some(id) = pick(&world.made_payouts, *payout) {
                let _ = if *paid {
                    world.payouts.mark_paid(ADMIN, *id, "WIRE-1".into()).await
                } else {
                    world.payouts.mark_failed(ADMIN, *id, "bounced".into()).await
                };
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
    prop_assert!(totals.iter().all(|(_, _, total)| *total == 0), "{:?}", totals);
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
            "SELECT count(*) AS n FROM coupons c WHERE c.times_used + coalesce((SELECT sum(uses) FROM coupon_use_counts u
               WHERE u.coupon_id = c.id), 0) <> (SELECT count(*) FROM coupon_redemptions r
               WHERE r.coupon_id = c.id AND r.status IN ('reserved', 'confirmed'))"
        ),
        0
    );
    // Kept balance of `account_sql` (an SQL expression naming the account
    // per row of `per`) equals `expected` for every row of `per`.
    let mismatched = |per: &str, account_sql: &str, expected: &str| {
        scalar(&format!(
            "SELECT count(*) AS n FROM ({per}) x WHERE coalesce((SELECT sum(balance_minor) FROM ledger_balances b
               WHERE b.account = {account_sql} AND b.currency = x.currency), 0) <> {expected}"
        ))
    };
    // In transit: exactly the open payouts.
    prop_assert_eq!(
        mismatched(
            "SELECT instructor_id, currency, sum(amount_minor) FILTER (WHERE status IN ('requested', 'approved', 'processing')) AS open
             FROM payouts GROUP BY 1, 2",
            "'payouts_in_transit:' || x.instructor_id",
            "-coalesce(x.open, 0)"
        ),
        0
    );
    // Sent out through a method: exactly the paid payouts.
    prop_assert_eq!(
        mismatched(
            "SELECT method, currency, sum(amount_minor) FILTER (WHERE status = 'paid') AS paid FROM payouts GROUP BY 1, 2",
            "'payout_funds:' || x.method",
            "-coalesce(x.paid, 0)"
        ),
        0
    );
    // Pending: exactly the earnings of sales not yet released.
    prop_assert_eq!(
        mismatched(
            "SELECT instructor_id, currency, sum(instructor_earnings_minor) FILTER (WHERE earnings_released_at IS NULL) AS held
             FROM payments WHERE completed_at IS NOT NULL GROUP BY 1, 2",
            "'instructor_pending:' || x.instructor_id",
            "-coalesce(x.held, 0)"
        ),
        0
    );
    // Kept statistics: exactly what the payments and refunds say, per mode.
    prop_assert_eq!(scalar(adapters_postgres::testing::STATS_MISMATCHES_SQL), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32),
        ..ProptestConfig::default()
    })]

    #[test]
    fn money_invariants_hold_after_every_step(steps in proptest::collection::vec(step(), 1..80)) {
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
