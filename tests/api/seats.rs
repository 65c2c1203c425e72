//! Event seats: never more tickets than seats under any concurrency, a
//! limit of tickets per buyer, seats back when a payment ends, and
//! capacities checked against the seats taken.

use domain::usecases::Role;
use futures::future::join_all;
use serde_json::{Value, json};
use skillpay_e2e::{RACE_SETTINGS, TestApp, spawn_app, spawn_app_with};

/// Puts event 1 at 25.00 USD with `capacity` seats and `per_buyer`
/// tickets per buyer; the answer's status and body.
async fn put_event(app: &TestApp, capacity: Option<u32>, per_buyer: u32) -> (u16, Value) {
    let body = json!({"title": "Live Q&A", "price": "25.00", "currency": "USD", "instructor_id": 100,
        "active": true, "capacity": capacity, "tickets_per_buyer": per_buyer});
    let res = app
        .request(reqwest::Method::PUT, "/api/payments/catalog/events/1/", Some(&app.admin()))
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn tickets(app: &TestApp, user: i64, quantity: u32) -> (u16, Value) {
    let body = json!({"event_id": 1, "quantity": quantity, "payment_method": "sandbox"});
    let res = app.post("/api/payments/", &app.token(user, Role::Student), &body).await;
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn seats_left(app: &TestApp) -> Value {
    let event: Value = app.get("/api/payments/catalog/events/1/", &app.admin()).await.json().await.unwrap();
    event["seats_left"].clone()
}

fn seats_held(app: &TestApp) -> i64 {
    app.store.scalar("SELECT coalesce(sum(seats), 0)::bigint AS n FROM seat_holds").unwrap()
}

#[tokio::test]
async fn three_hundred_buyers_for_the_last_fifty_seats_get_exactly_fifty_tickets() {
    let [workers, pool] = RACE_SETTINGS;
    // 310 purchases from one address: above the per-address limit.
    let app = spawn_app_with(&[workers, pool, ("SKILLPAY_RATE_PAYMENTS_PER_IP", "1000000")]).await;
    assert_eq!(put_event(&app, Some(60), 1).await.0, 200);
    for user in 0..10 {
        assert_eq!(tickets(&app, 10 + user, 1).await.0, 201);
    }
    assert_eq!(seats_left(&app).await, 50);

    let answers = join_all((0..300).map(|i| tickets(&app, 1000 + i, 1))).await;
    let sold = answers.iter().filter(|(status, _)| *status == 201).count();
    let sold_out = answers.iter().filter(|(_, body)| body["code"] == "sold_out").count();
    assert_eq!((sold, sold_out), (50, 250), "{:?}", answers.iter().find(|(s, b)| *s != 201 && b["code"] != "sold_out"));
    assert_eq!(seats_left(&app).await, 0);
    assert_eq!(seats_held(&app), 60, "no seat sold twice");
    let open = app.store.scalar("SELECT count(*) AS n FROM payments WHERE event_id = 1").unwrap();
    assert_eq!(open, 60, "a refused buyer wrote nothing");

    // An unpaid payment that expires gives its seat back.
    let (_, first) = &answers.iter().find(|(status, _)| *status == 201).unwrap();
    app.state.payments.expire(first["id"].as_str().unwrap().parse().unwrap()).await.unwrap();
    assert_eq!(seats_left(&app).await, 1);
    assert_eq!(tickets(&app, 5000, 1).await.0, 201);
    assert_eq!(tickets(&app, 5001, 1).await.1["code"], "sold_out");
}

#[tokio::test]
async fn tickets_per_buyer_refunds_and_capacity_changes_keep_the_count() {
    let app = spawn_app().await;
    assert_eq!(put_event(&app, Some(5), 3).await.0, 200);
    let (status, two) = tickets(&app, 1000, 2).await;
    assert_eq!(status, 201, "{two}");
    assert_eq!((two["amount"].as_str(), two["quantity"].as_u64()), (Some("50.00"), Some(2)), "price times quantity");
    let (status, problem) = tickets(&app, 1000, 2).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("ticket_limit_reached")), "{problem}");
    assert_eq!(tickets(&app, 1000, 1).await.0, 201, "three in all is within the limit");
    let (status, problem) = tickets(&app, 1001, 4).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("quantity")), "{problem}");
    assert_eq!(seats_left(&app).await, 2);

    // Below the seats taken is refused; at or above them is fine.
    let (status, problem) = put_event(&app, Some(2), 3).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("capacity_below_taken")), "{problem}");
    assert_eq!(seats_left(&app).await, 2, "a refused change leaves the seats as they were");
    assert_eq!(put_event(&app, Some(4), 3).await.0, 200);
    assert_eq!(seats_left(&app).await, 1);

    // A paid pair wholly refunded frees both seats.
    let id = two["id"].as_str().unwrap();
    let confirm = json!({"payment_token": "sandbox_success"});
    assert_eq!(
        app.post(&format!("/api/payments/{id}/confirm/"), &app.token(1000, Role::Student), &confirm).await.status(),
        200
    );
    let refund: Value = app
        .post("/api/payments/refunds/", &app.admin(), &json!({"payment_id": id, "reason": "cannot come"}))
        .await
        .json()
        .await
        .unwrap();
    let approve = format!("/api/payments/refunds/{}/approve/", refund["id"].as_str().unwrap());
    assert_eq!(app.post(&approve, &app.admin(), &json!({})).await.status(), 200);
    assert_eq!(seats_left(&app).await, 3);
    assert_eq!(seats_held(&app), 1);

    // No capacity: no seats to count; courses have none.
    assert_eq!(put_event(&app, None, 3).await.0, 200);
    assert_eq!(seats_left(&app).await, Value::Null);
    let course = json!({"title": "C", "price": "1.00", "currency": "USD", "instructor_id": 100, "active": true,
        "capacity": 10});
    let res = app
        .request(reqwest::Method::PUT, "/api/payments/catalog/courses/1/", Some(&app.admin()))
        .json(&course)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
}
