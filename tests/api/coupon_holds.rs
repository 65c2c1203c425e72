//! One account cannot drain a limited coupon with payments it never pays:
//! it holds at most one unpaid use of it at a time, and an unpaid payment
//! holding one expires sooner than other payments.

use diesel::RunQueryDsl;
use domain::usecases::Role;
use domain::usecases::reconciliation::SweepPolicy;
use futures::future::join_all;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app, spawn_app_for_races};

/// Buys a course `user` holds no payment for (a buyer holds a course
/// once), at 100.00 USD.
async fn buy(app: &TestApp, user: i64, coupon: Option<&str>) -> (u16, Value) {
    let course = app.fresh_id();
    app.put_course(course, "100.00", "USD").await;
    let mut body = json!({"course_id": course, "payment_method": "sandbox"});
    if let Some(code) = coupon {
        body["coupon_code"] = json!(code);
    }
    let res = app.post("/api/payments/", &app.token(user, Role::Student), &body).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn one_user_holds_one_unpaid_use_of_a_limited_coupon_and_paying_frees_it() {
    let app = spawn_app_for_races().await;
    app.put_course(1, "100.00", "USD").await;
    app.create_coupon(
        json!({"code": "HUNDRED", "discount_type": "percentage", "discount_value": "10", "max_uses": 100}),
    )
    .await;
    app.create_coupon(json!({"code": "OPEN", "discount_type": "percentage", "discount_value": "5"})).await;

    // Twenty racing purchases by one account take one use, not twenty.
    let racing = join_all((0..20).map(|_| buy(&app, 1000, Some("HUNDRED")))).await;
    let held: Vec<&Value> = racing.iter().filter(|(status, _)| *status == 201).map(|(_, body)| body).collect();
    assert_eq!(held.len(), 1, "{racing:?}");
    for (status, body) in racing.iter().filter(|(status, _)| *status != 201) {
        assert_eq!((*status, body["reason"].as_str()), (422, Some("unpaid_hold")), "{body}");
    }
    // Others still buy with it.
    assert_eq!(buy(&app, 2000, Some("HUNDRED")).await.0, 201);
    // Once paid, the use is no longer a hold: the account may buy again.
    let id = held[0]["id"].as_str().unwrap();
    let paid = app
        .post(
            &format!("/api/payments/{id}/confirm/"),
            &app.token(1000, Role::Student),
            &json!({"payment_token": "sandbox_success"}),
        )
        .await;
    assert_eq!(paid.status(), 200);
    assert_eq!(buy(&app, 1000, Some("HUNDRED")).await.0, 201);
    // A coupon without a total limit has no uses to hoard.
    assert_eq!(buy(&app, 3000, Some("OPEN")).await.0, 201);
    assert_eq!(buy(&app, 3000, Some("OPEN")).await.0, 201);
}

#[tokio::test]
async fn an_unpaid_payment_holding_a_limited_coupon_expires_sooner_and_gives_the_use_back() {
    let app = spawn_app().await;
    app.put_course(1, "100.00", "USD").await;
    let coupon = app
        .create_coupon(json!({"code": "FEW", "discount_type": "percentage", "discount_value": "10", "max_uses": 3}))
        .await;
    app.create_coupon(json!({"code": "OPEN", "discount_type": "percentage", "discount_value": "5"})).await;
    let (_, limited) = buy(&app, 1000, Some("FEW")).await;
    let (_, unlimited) = buy(&app, 1001, Some("OPEN")).await;
    let (_, plain) = buy(&app, 1002, None).await;
    // Twenty minutes old: past the 15-minute coupon hold, not the hour.
    let mut conn = app.store.connection().unwrap();
    diesel::sql_query("UPDATE payments SET created_at = now() - interval '20 minutes'").execute(&mut conn).unwrap();

    let report = app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();
    assert_eq!(report.expired, 1, "{report:?}");
    let status = |payment: &Value| {
        let id = payment["id"].as_str().unwrap().to_owned();
        let app = &app;
        async move {
            let body: Value = app.get(&format!("/api/payments/{id}/"), &app.admin()).await.json().await.unwrap();
            body["status"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(status(&limited).await, "expired");
    assert_eq!(status(&unlimited).await, "pending");
    assert_eq!(status(&plain).await, "pending");
    let usage: Value = app
        .get(&format!("/api/payments/coupons/{}/", coupon["id"].as_str().unwrap()), &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((usage["reserved"].as_i64(), usage["times_used"].as_i64()), (Some(0), Some(0)), "{usage}");
}
