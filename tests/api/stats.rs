//! Statistics and instructor earnings: kept per mode, read through their
//! key, with gross, gateway fees, platform fee and net apart.

use std::sync::Arc;

use adapters_postgres::testing::STATS_MISMATCHES_SQL;
use domain::gateway_config::GatewayMode;
use domain::ports::GatewayDescriptor;
use domain::usecases::Role;
use domain::usecases::reconciliation::SweepPolicy;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app, spawn_app_with_gateways};

use crate::registered_gateway::TestGateway;

/// Buys course `course` with the sandbox `token`; the payment's id.
async fn buy(app: &TestApp, course: i64, token: &str) -> String {
    // A buyer of their own: a buyer holds a course once.
    let student = app.token(app.fresh_id(), Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": course, "payment_method": "sandbox"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": token})).await;
    id
}

async fn refund(app: &TestApp, payment: &str, amount: &str) {
    let body = json!({"payment_id": payment, "amount": amount, "reason": "partly unhappy"});
    let refund: Value = app.post("/api/payments/refunds/", &app.admin(), &body).await.json().await.unwrap();
    let path = format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap());
    assert_eq!(app.post(&path, &app.admin(), &json!({})).await.status(), 200);
}

/// The kept aggregates agree with a scan of the payments and refunds,
/// per mode, fees included.
fn aggregates_match_the_payments(app: &TestApp) {
    assert_eq!(app.store.scalar(STATS_MISMATCHES_SQL).unwrap(), 0);
}

#[tokio::test]
async fn statistics_and_earnings_follow_sales_refunds_and_failures() {
    let app = spawn_app().await;
    app.put_course(1, "100.00", "USD").await;
    app.put_course(2, "50.00", "USD").await;
    let first = buy(&app, 1, "sandbox_success").await;
    buy(&app, 2, "sandbox_success").await;
    buy(&app, 1, "sandbox_decline").await;
    refund(&app, &first, "25.00").await;
    aggregates_match_the_payments(&app);

    // Only test-mode gateways are served (the sandbox): what a reader
    // naming no mode sees is test money, these sandbox purchases.
    let stats: Value = app.get("/api/payments/stats/", &app.admin()).await.json().await.unwrap();
    assert_eq!(stats["livemode"], false);
    let usd = &stats["currencies"][0];
    assert_eq!(usd["currency"], "USD");
    let totals = &usd["totals"];
    assert_eq!((totals["payments"].as_i64(), totals["settled"].as_i64()), (Some(3), Some(2)));
    assert_eq!(totals["gross"], "150.00");
    assert_eq!(totals["platform_fees"], "30.00");
    assert_eq!(totals["platform_fees_refunded"], "5.00");
    assert_eq!(totals["gateway_fees"], "0.00", "the sandbox keeps no fee");
    assert_eq!(totals["refunds"], "25.00");
    assert_eq!(totals["net"], "25.00", "30.00 of fees, 5.00 given back by the refund");
    assert_eq!(totals["net_volume"], "125.00");
    assert_eq!(totals["refund_rate"], "0.1667");
    assert_eq!(totals["dispute_rate"], "0");
    let failed = usd["by_status"].as_array().unwrap().iter().find(|g| g["status"] == "failed").unwrap();
    assert_eq!((failed["payments"].as_i64(), failed["payment_method"].as_str()), (Some(1), Some("sandbox")));
    assert_eq!(usd["daily"].as_array().unwrap().len(), 1);
    assert_eq!(usd["daily"][0]["settled"], 2);

    let instructor = app.token(100, Role::Instructor);
    let earnings: Value = app.get("/api/payments/instructor/earnings/", &instructor).await.json().await.unwrap();
    assert_eq!(earnings["livemode"], false);
    let usd = &earnings["currencies"][0];
    // Earned 80.00 + 40.00; the 25.00 refund took 20.00 of it and 5.00 of the fee.
    assert_eq!(
        usd["totals"],
        json!({"sales": 2, "gross": "150.00", "fees": "25.00", "gateway_fees": "0.00", "refunds": "25.00", "net": "100.00"})
    );
    // Nothing of it is live money.
    let live: Value =
        app.get("/api/payments/instructor/earnings/?livemode=true", &instructor).await.json().await.unwrap();
    assert_eq!((live["livemode"].as_bool(), &live["currencies"]), (Some(true), &json!([])));
    assert_eq!(usd["by_item"].as_array().unwrap().len(), 2);
    assert_eq!(usd["by_item"][0]["course_id"], 1);
    assert_eq!(usd["by_item"][0]["net"], "60.00");
    assert_eq!(usd["by_month"].as_array().unwrap().len(), 1);
    assert_eq!(earnings["balances"][0]["pending"], "120.00");
    assert_eq!(earnings["balances"][0]["negative_carry"], "20.00", "the refund came off available at once");

    // An admin reads anyone's earnings; nobody else does, and stats are admin-only.
    let other = app.token(200, Role::Instructor);
    assert_eq!(app.get("/api/payments/instructor/earnings/?instructor_id=100", &other).await.status(), 403);
    let theirs: Value =
        app.get("/api/payments/instructor/earnings/?instructor_id=100", &app.admin()).await.json().await.unwrap();
    assert_eq!(theirs["currencies"][0]["totals"]["net"], "100.00");
    assert_eq!(app.get("/api/payments/stats/", &instructor).await.status(), 403);
    let none: Value = app.get("/api/payments/instructor/earnings/", &other).await.json().await.unwrap();
    assert_eq!(none["currencies"], json!([]));
}

#[tokio::test]
async fn ranges_are_checked() {
    let app = spawn_app().await;
    for query in
        ["from=2026-13-01", "from=2026-11-30&to=2026-11-01", "from=2020-01-01&to=2026-01-01", "day=1", "livemode=live"]
    {
        for path in ["/api/payments/stats/", "/api/payments/instructor/earnings/"] {
            let res = app.get(&format!("{path}?{query}"), &app.admin()).await;
            assert_eq!(res.status(), 400, "{path}?{query}");
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["code"], "invalid_query");
        }
    }
    let past: Value =
        app.get("/api/payments/stats/?from=2020-01-01&to=2020-12-31", &app.admin()).await.json().await.unwrap();
    assert_eq!(past["currencies"], json!([]));
}

#[tokio::test]
async fn folding_past_shards_keeps_every_figure_while_purchases_and_refunds_go_on() {
    use domain::ports::StatsQueries;
    let app = spawn_app().await;
    app.put_course(1, "100.00", "USD").await;
    let mut paid = Vec::new();
    for _ in 0..12 {
        paid.push(buy(&app, 1, "sandbox_success").await);
    }
    refund(&app, &paid[0], "30.00").await;
    buy(&app, 1, "sandbox_decline").await;
    let earnings_path = "/api/payments/instructor/earnings/?instructor_id=100";
    let before: Value = app.get("/api/payments/stats/", &app.admin()).await.json().await.unwrap();
    let earnings_before: Value = app.get(earnings_path, &app.admin()).await.json().await.unwrap();
    let unfolded = "SELECT (SELECT count(*) FROM payment_stats_daily WHERE shard <> 0) \
                    + (SELECT count(*) FROM instructor_stats_monthly WHERE shard <> 0) AS n";
    assert!(app.store.scalar(unfolded).unwrap() > 0, "twelve sales spread over the shards");

    // Fold everything up to tomorrow while more sales and a refund commit.
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    let next_month = tomorrow + chrono::Duration::days(31);
    let more = async {
        let mut ids = Vec::new();
        for _ in 0..6 {
            ids.push(buy(&app, 1, "sandbox_success").await);
        }
        refund(&app, &paid[1], "10.00").await;
        ids
    };
    let folds = async {
        let mut folded = 0;
        for _ in 0..5 {
            folded += app.store.fold_shards(tomorrow, next_month).await.unwrap();
        }
        folded
    };
    let (_, folded) = tokio::join!(more, folds);
    assert!(folded > 0);
    app.store.fold_shards(tomorrow, next_month).await.unwrap();
    assert_eq!(app.store.scalar(unfolded).unwrap(), 0, "one row per key left");
    aggregates_match_the_payments(&app);

    let after: Value = app.get("/api/payments/stats/", &app.admin()).await.json().await.unwrap();
    let totals = &after["currencies"][0]["totals"];
    assert_eq!((totals["payments"].as_i64(), totals["settled"].as_i64()), (Some(19), Some(18)));
    assert_eq!(totals["gross"], "1800.00");
    assert_eq!(totals["refunds"], "40.00");
    assert_ne!(before, after);

    // Folding again changes no figure.
    app.store.fold_shards(tomorrow, next_month).await.unwrap();
    let again: Value = app.get("/api/payments/stats/", &app.admin()).await.json().await.unwrap();
    assert_eq!(again, after);
    let earnings: Value = app.get(earnings_path, &app.admin()).await.json().await.unwrap();
    assert_ne!(earnings, earnings_before, "six more sales");
    assert_eq!(earnings["currencies"][0]["totals"]["sales"], 18, "{earnings}");
}

/// The sandbox (test money) next to the registered test gateway declared
/// live (it keeps 3.5 % of every charge), selling course 1 (50.00 USD,
/// instructor 100) and course 2 (100.00 USD).
async fn live_gateway_next_to_the_sandbox(settings: &[(&str, &str)]) -> TestApp {
    let gateway = Arc::new(TestGateway::default());
    let live = GatewayDescriptor::new(GatewayMode::Live, gateway.clone()).refunds(gateway);
    let app = spawn_app_with_gateways(settings, vec![live]).await;
    app.put_course(1, "50.00", "USD").await;
    app.put_course(2, "100.00", "USD").await;
    app
}

/// A completed live purchase of course 1 whose 1.75 gateway fee the sweep
/// has recorded; its id.
async fn live_sale_with_its_fee(app: &TestApp) -> String {
    let student = app.token(1000, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "wallet"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["livemode"], true, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let confirmed = app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "ok"})).await;
    assert_eq!(confirmed.status(), 200);
    let report = app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();
    assert_eq!(report.fees_recorded, 1, "{report:?}");
    id
}

/// A completed sandbox purchase of course 2 by a caller allowed test mode.
async fn test_sale(app: &TestApp) -> String {
    let student = app.test_mode_token(1001, Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 2, "payment_method": "sandbox"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["livemode"], false, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let body = json!({"payment_token": "sandbox_success"});
    assert_eq!(app.post(&format!("/api/payments/{id}/confirm/"), &student, &body).await.status(), 200);
    id
}

async fn read(app: &TestApp, path: &str, token: &str) -> Value {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

#[tokio::test]
async fn live_and_test_money_are_counted_apart_with_gross_gateway_fees_platform_fee_and_net() {
    let app = live_gateway_next_to_the_sandbox(&[]).await;
    let live_sale = live_sale_with_its_fee(&app).await;
    test_sale(&app).await;
    refund(&app, &live_sale, "25.00").await;
    aggregates_match_the_payments(&app);

    // A live gateway is served: live money by default, and by name.
    let by_default = read(&app, "/api/payments/stats/", &app.admin()).await;
    let live = read(&app, "/api/payments/stats/?livemode=true", &app.admin()).await;
    assert_eq!(by_default, live);
    assert_eq!(live["livemode"], true);
    assert_eq!(live["currencies"].as_array().unwrap().len(), 1);
    let totals = &live["currencies"][0]["totals"];
    assert_eq!((totals["payments"].as_i64(), totals["settled"].as_i64()), (Some(1), Some(1)));
    assert_eq!(totals["gross"], "50.00", "the test sale's 100.00 is not live money");
    assert_eq!(totals["gateway_fees"], "1.75");
    assert_eq!(totals["gateway_fees_platform"], "1.75", "the platform bears it by default");
    assert_eq!(totals["platform_fees"], "10.00");
    assert_eq!(totals["platform_fees_refunded"], "5.00");
    assert_eq!(totals["refunds"], "25.00");
    assert_eq!(totals["net"], "3.25", "10.00 of fee, 5.00 given back, 1.75 to the gateway");
    assert_eq!(totals["net_volume"], "25.00");

    // Test money, asked for by name: the sandbox sale, no fee, no refund.
    let test = read(&app, "/api/payments/stats/?livemode=false", &app.admin()).await;
    assert_eq!(test["livemode"], false);
    let totals = &test["currencies"][0]["totals"];
    assert_eq!((totals["gross"].as_str(), totals["gateway_fees"].as_str()), (Some("100.00"), Some("0.00")));
    assert_eq!((totals["refunds"].as_str(), totals["net"].as_str()), (Some("0.00"), Some("20.00")));

    // The instructor's earnings too: live by default, test by name.
    let instructor = app.token(100, Role::Instructor);
    let live = read(&app, "/api/payments/instructor/earnings/", &instructor).await;
    assert_eq!(live["livemode"], true);
    assert_eq!(
        live["currencies"][0]["totals"],
        json!({"sales": 1, "gross": "50.00", "fees": "5.00", "gateway_fees": "0.00", "refunds": "25.00", "net": "20.00"})
    );
    let test = read(&app, "/api/payments/instructor/earnings/?livemode=false", &instructor).await;
    assert_eq!(test["livemode"], false);
    assert_eq!(
        test["currencies"][0]["totals"],
        json!({"sales": 1, "gross": "100.00", "fees": "20.00", "gateway_fees": "0.00", "refunds": "0.00", "net": "80.00"})
    );
}

#[tokio::test]
async fn a_gateway_fee_the_instructor_bore_comes_off_their_earnings_not_the_platforms_net() {
    let app = live_gateway_next_to_the_sandbox(&[("SKILLPAY_GATEWAY_FEE_BEARER", "instructor")]).await;
    let sale = live_sale_with_its_fee(&app).await;
    aggregates_match_the_payments(&app);

    let stats = read(&app, "/api/payments/stats/", &app.admin()).await;
    let totals = &stats["currencies"][0]["totals"];
    assert_eq!(
        (totals["gateway_fees"].as_str(), totals["gateway_fees_platform"].as_str()),
        (Some("1.75"), Some("0.00"))
    );
    assert_eq!(totals["net"], "10.00", "the platform keeps its whole fee");
    let earnings_path = "/api/payments/instructor/earnings/?instructor_id=100";
    let earnings = read(&app, earnings_path, &app.admin()).await;
    assert_eq!(
        earnings["currencies"][0]["totals"],
        json!({"sales": 1, "gross": "50.00", "fees": "10.00", "gateway_fees": "1.75", "refunds": "0.00", "net": "38.25"})
    );

    // The fee as now recorded counts: a refund gave 0.75 of it back.
    let id = sale.parse::<domain::ids::PaymentId>().unwrap().uuid();
    let lowered = app
        .store
        .scalar(&format!(
            "WITH lowered AS (UPDATE payments SET gateway_fee_minor = 100 WHERE id = '{id}' RETURNING 1) \
             SELECT count(*) AS n FROM lowered"
        ))
        .unwrap();
    assert_eq!(lowered, 1);
    aggregates_match_the_payments(&app);
    let earnings = read(&app, earnings_path, &app.admin()).await;
    assert_eq!(earnings["currencies"][0]["totals"]["gateway_fees"], "1.00");
    assert_eq!(earnings["currencies"][0]["totals"]["net"], "39.00");
}
