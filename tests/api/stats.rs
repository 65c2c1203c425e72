use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app};

/// Buys course `course` with the sandbox `token`; the payment's id.
async fn buy(app: &TestApp, course: i64, token: &str) -> String {
    let student = app.token(1000, Role::Student);
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

/// The kept aggregates agree with a scan of the payments themselves.
fn aggregates_match_the_payments(app: &TestApp) {
    let mismatches = app
        .store
        .scalar(
            "SELECT count(*) AS n FROM ( \
               SELECT status, payment_method, currency, count(*) AS c, sum(amount_minor) AS a, sum(refunded_amount_minor) AS r \
               FROM payments GROUP BY 1, 2, 3 \
             ) p FULL JOIN ( \
               SELECT status, payment_method, currency, sum(payments) AS c, sum(amount_minor) AS a, sum(refunded_minor) AS r \
               FROM payment_stats_daily GROUP BY 1, 2, 3 HAVING sum(payments) <> 0 \
             ) s USING (status, payment_method, currency) \
             WHERE p.c IS DISTINCT FROM s.c OR p.a IS DISTINCT FROM s.a OR p.r IS DISTINCT FROM s.r",
        )
        .unwrap();
    assert_eq!(mismatches, 0);
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

    let stats: Value = app.get("/api/payments/stats/", &app.admin()).await.json().await.unwrap();
    let usd = &stats["currencies"][0];
    assert_eq!(usd["currency"], "USD");
    let totals = &usd["totals"];
    assert_eq!((totals["payments"].as_i64(), totals["settled"].as_i64()), (Some(3), Some(2)));
    assert_eq!(totals["gross"], "150.00");
    assert_eq!(totals["platform_fees"], "30.00");
    assert_eq!(totals["refunds"], "25.00");
    assert_eq!(totals["net"], "125.00");
    assert_eq!(totals["refund_rate"], "0.1667");
    assert_eq!(totals["dispute_rate"], "0");
    let failed = usd["by_status"].as_array().unwrap().iter().find(|g| g["status"] == "failed").unwrap();
    assert_eq!((failed["payments"].as_i64(), failed["payment_method"].as_str()), (Some(1), Some("sandbox")));
    assert_eq!(usd["daily"].as_array().unwrap().len(), 1);
    assert_eq!(usd["daily"][0]["settled"], 2);

    let instructor = app.token(100, Role::Instructor);
    let earnings: Value = app.get("/api/payments/instructor/earnings/", &instructor).await.json().await.unwrap();
    let usd = &earnings["currencies"][0];
    // Earned 80.00 + 40.00; the 25.00 refund took 20.00 of it and 5.00 of the fee.
    assert_eq!(
        usd["totals"],
        json!({"sales": 2, "gross": "150.00", "fees": "25.00", "refunds": "25.00", "net": "100.00"})
    );
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
    for query in ["from=2026-13-01", "from=2026-11-30&to=2026-11-01", "from=2020-01-01&to=2026-01-01", "day=1"] {
        let res = app.get(&format!("/api/payments/stats/?{query}"), &app.admin()).await;
        assert_eq!(res.status(), 400, "{query}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "invalid_query");
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
