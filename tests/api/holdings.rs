//! A buyer holds a course once: a second purchase while they own it is
//! 409 `already_purchased` naming their payment, a second purchase while
//! their payment is still open answers that payment, and racing purchases
//! leave one payment.

use domain::usecases::Role;
use futures::future::join_all;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app, spawn_app_for_races};

async fn create(app: &TestApp, user: i64) -> (u16, Value) {
    let body = json!({"course_id": 1, "payment_method": "sandbox"});
    let res = app.post("/api/payments/", &app.token(user, Role::Student), &body).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn an_owned_course_is_not_sold_twice_and_an_open_payment_is_answered_again() {
    let app = spawn_app().await;
    app.put_course(1, "40.00", "USD").await;
    let (status, first) = create(&app, 1000).await;
    assert_eq!(status, 201, "{first}");
    let id = first["id"].as_str().unwrap().to_owned();

    // Asked again while open: the same payment, not a second one.
    let (status, again) = create(&app, 1000).await;
    assert_eq!((status, again["id"].as_str()), (200, Some(id.as_str())), "{again}");
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payments").unwrap(), 1);

    let confirm = json!({"payment_token": "sandbox_success"});
    let paid = app.post(&format!("/api/payments/{id}/confirm/"), &app.token(1000, Role::Student), &confirm).await;
    assert_eq!(paid.status(), 200);
    let (status, problem) = create(&app, 1000).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("already_purchased")), "{problem}");
    assert_eq!(problem["payment_id"].as_str(), Some(id.as_str()));
    // Another buyer is not affected.
    assert_eq!(create(&app, 1001).await.0, 201);

    // Wholly refunded, the course can be bought again.
    let refund = app
        .post("/api/payments/refunds/", &app.admin(), &json!({"payment_id": id, "reason": "changed mind"}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let approve = format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap());
    assert_eq!(app.post(&approve, &app.admin(), &json!({})).await.status(), 200);
    let (status, bought_again) = create(&app, 1000).await;
    assert_eq!(status, 201, "{bought_again}");
    assert_ne!(bought_again["id"].as_str(), Some(id.as_str()));

    // A cancelled payment holds nothing either.
    let second = bought_again["id"].as_str().unwrap();
    let cancel =
        app.post(&format!("/api/payments/{second}/cancel/"), &app.token(1000, Role::Student), &json!({})).await;
    assert_eq!(cancel.status(), 200);
    assert_eq!(create(&app, 1000).await.0, 201);
}

#[tokio::test]
async fn racing_purchases_of_one_course_by_one_student_leave_exactly_one_payment() {
    let app = spawn_app_for_races().await;
    app.put_course(1, "40.00", "USD").await;
    let answers = join_all((0..20).map(|_| create(&app, 1000))).await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    let found = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!((created, found), (1, 19), "{answers:?}");
    let ids: std::collections::HashSet<&str> = answers.iter().filter_map(|(_, p)| p["id"].as_str()).collect();
    assert_eq!(ids.len(), 1, "every answer is the one payment: {ids:?}");
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payments").unwrap(), 1);
}
