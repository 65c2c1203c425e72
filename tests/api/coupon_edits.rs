//! Editing a coupon's limits, validity and switch: partial changes, removed
//! limits, refusals, and the limit check under the coupon's row lock.

use domain::usecases::Role;
use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app, spawn_app_for_races};

async fn patch(app: &TestApp, id: &str, body: Value) -> (u16, Value) {
    let res = app
        .request(Method::PATCH, &format!("/api/payments/coupons/{id}/"), Some(&app.admin()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn buy(app: &TestApp, user: i64, code: &str) -> u16 {
    let token = app.token(user, Role::Student);
    let body = json!({"course_id": 1, "coupon_code": code, "payment_method": "sandbox"});
    app.post("/api/payments/", &token, &body).await.status().as_u16()
}

#[tokio::test]
async fn an_edit_changes_the_named_fields_and_null_removes_a_limit() {
    let app = spawn_app().await;
    app.put_course(1, "40.00", "USD").await;
    let coupon = app
        .create_coupon(json!({"code": "EDITME", "discount_type": "percentage", "discount_value": "10",
            "max_uses": 1, "max_uses_per_user": 1, "expires_at": "2999-01-01T00:00:00Z"}))
        .await;
    let id = coupon["id"].as_str().unwrap();
    assert_eq!(buy(&app, 1, "EDITME").await, 201);
    assert_eq!(buy(&app, 2, "EDITME").await, 422, "the one use is taken");

    let (status, edited) = patch(&app, id, json!({"max_uses": 3, "expires_at": null})).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["max_uses"], 3);
    assert_eq!(edited["expires_at"], Value::Null);
    assert_eq!(edited["max_uses_per_user"], 1, "a field left out stays");
    assert_eq!(
        (edited["code"].clone(), edited["discount_value"].clone()),
        (coupon["code"].clone(), coupon["discount_value"].clone())
    );
    assert_eq!(buy(&app, 2, "EDITME").await, 201, "the raised limit lets another student in");

    let (status, edited) = patch(&app, id, json!({"max_uses": null, "is_active": false})).await;
    assert_eq!(status, 200);
    assert_eq!((edited["max_uses"].clone(), edited["is_active"].clone()), (Value::Null, json!(false)));
    assert_eq!(buy(&app, 3, "EDITME").await, 422, "switched off");
    let (status, _) = patch(&app, id, json!({"is_active": true})).await;
    assert_eq!(status, 200);
    assert_eq!(buy(&app, 3, "EDITME").await, 201, "switched on again, with no total limit");
}

#[tokio::test]
async fn an_edit_refuses_a_limit_below_the_uses_taken_and_fixed_or_inconsistent_fields() {
    let app = spawn_app().await;
    app.put_course(1, "40.00", "USD").await;
    let coupon = app
        .create_coupon(json!({"code": "HELD", "discount_type": "percentage", "discount_value": "10", "max_uses": 5}))
        .await;
    let id = coupon["id"].as_str().unwrap();
    for user in 1..=3 {
        assert_eq!(buy(&app, user, "HELD").await, 201);
    }
    let (status, problem) = patch(&app, id, json!({"max_uses": 2})).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("coupon_limit_below_uses")), "{problem}");
    let (status, edited) = patch(&app, id, json!({"max_uses": 3})).await;
    assert_eq!((status, edited["max_uses"].as_i64()), (200, Some(3)), "the uses held may be met exactly");

    let (status, problem) = patch(&app, id, json!({"discount_value": "90"})).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")), "{problem}");
    let (status, problem) = patch(&app, id, json!({"max_uses_per_user": 0})).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("validation_failed")), "{problem}");
    let window = json!({"valid_from": "2030-01-01T00:00:00Z", "expires_at": "2029-01-01T00:00:00Z"});
    assert_eq!(patch(&app, id, window).await.0, 422);
    let (status, _) = patch(&app, "cpn_00000000000000000000000000", json!({"max_uses": 9})).await;
    assert_eq!(status, 404);

    let usage: Value = app.get(&format!("/api/payments/coupons/{id}/"), &app.admin()).await.json().await.unwrap();
    assert_eq!(
        (usage["max_uses"].as_i64(), usage["times_used"].as_i64()),
        (Some(3), Some(3)),
        "refusals changed nothing"
    );
}

#[tokio::test]
async fn lowering_the_limit_while_purchases_race_never_leaves_more_uses_than_the_limit() {
    let app = spawn_app_for_races().await;
    app.put_course(1, "40.00", "USD").await;
    let coupon = app
        .create_coupon(json!({"code": "RACE", "discount_type": "percentage", "discount_value": "10", "max_uses": 40}))
        .await;
    let id = coupon["id"].as_str().unwrap().to_owned();
    let purchases = join_all((0..30).map(|i| buy(&app, 40_000 + i, "RACE")));
    let edits = join_all((0..5).map(|_| patch(&app, &id, json!({"max_uses": 12}))));
    let (bought, edited) = tokio::join!(purchases, edits);
    let bought = bought.iter().filter(|s| **s == 201).count();
    let accepted = edited.iter().filter(|(s, _)| *s == 200).count();
    for (status, body) in &edited {
        assert!(*status == 200 || (*status == 409 && body["code"] == "coupon_limit_below_uses"), "{status} {body}");
    }
    let usage: Value = app.get(&format!("/api/payments/coupons/{id}/"), &app.admin()).await.json().await.unwrap();
    let (max, used) = (usage["max_uses"].as_u64().unwrap(), usage["times_used"].as_u64().unwrap());
    assert_eq!(used, bought as u64);
    assert_eq!(app.count("coupon_redemptions").await, bought as i64);
    if accepted > 0 {
        assert_eq!(max, 12);
        assert!(used <= 12, "{used} uses under a limit of 12");
    } else {
        assert_eq!(max, 40);
        assert!(used > 12, "every edit was refused, so more than 12 uses were held each time");
    }
}

#[tokio::test]
async fn lowering_the_limit_to_the_confirmed_uses_announces_the_coupon_exhausted_once() {
    let app = spawn_app().await;
    app.put_course(2, "40.00", "USD").await;
    let coupon = app
        .create_coupon(json!({"code": "SHRINK", "discount_type": "percentage", "discount_value": "10", "max_uses": 10}))
        .await;
    let id = coupon["id"].as_str().unwrap().to_owned();
    for user in 1..=2 {
        let token = app.token(user, Role::Student);
        let body = json!({"course_id": 2, "coupon_code": "SHRINK", "payment_method": "sandbox"});
        let res = app.post("/api/payments/", &token, &body).await;
        assert_eq!(res.status(), 201);
        let payment = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let confirm = json!({"payment_token": "sandbox_success"});
        assert_eq!(app.post(&format!("/api/payments/{payment}/confirm/"), &token, &confirm).await.status(), 200);
    }
    assert_eq!(patch(&app, &id, json!({"expires_at": "2999-01-01T00:00:00Z"})).await.0, 200);
    assert!(app.store.outbox_events_for(id.clone()).await.unwrap().is_empty(), "not exhausted at 2 of 10");
    assert_eq!(patch(&app, &id, json!({"max_uses": 2})).await.0, 200);
    assert_eq!(patch(&app, &id, json!({"expires_at": null})).await.0, 200);
    let events = app.store.outbox_events_for(id.clone()).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].event_type.as_str(), events[0].payload["max_uses"].as_i64()), ("coupon.exhausted", Some(2)));
}

#[tokio::test]
async fn a_limit_added_to_an_unlimited_coupon_while_purchases_race_is_never_exceeded() {
    let app = spawn_app_for_races().await;
    app.put_course(1, "40.00", "USD").await;
    let coupon =
        app.create_coupon(json!({"code": "OPEN", "discount_type": "percentage", "discount_value": "10"})).await;
    let id = coupon["id"].as_str().unwrap().to_owned();
    // Uses of an unlimited coupon are counted without locking its row; a
    // limit added meanwhile must still count every one of them.
    for i in 0..5 {
        assert_eq!(buy(&app, 50_000 + i, "OPEN").await, 201);
    }
    let purchases = join_all((0..30).map(|i| buy(&app, 51_000 + i, "OPEN")));
    let edits = join_all((0..5).map(|_| patch(&app, &id, json!({"max_uses": 15}))));
    let (bought, edited) = tokio::join!(purchases, edits);
    let bought = 5 + bought.iter().filter(|s| **s == 201).count();
    for (status, body) in &edited {
        assert!(*status == 200 || (*status == 409 && body["code"] == "coupon_limit_below_uses"), "{status} {body}");
    }
    let usage: Value = app.get(&format!("/api/payments/coupons/{id}/"), &app.admin()).await.json().await.unwrap();
    let used = usage["times_used"].as_u64().unwrap();
    assert_eq!(used, bought as u64);
    assert_eq!(app.count("coupon_redemptions").await, bought as i64);
    if edited.iter().any(|(s, _)| *s == 200) {
        assert_eq!(usage["max_uses"], 15);
        assert!(used <= 15, "{used} uses under a limit of 15");
    } else {
        assert_eq!(usage["max_uses"], Value::Null);
        assert!(used > 15, "every edit was refused, so more than 15 uses were held each time");
    }
    // Purchases after the edit see the limit.
    if usage["max_uses"] == 15 && used == 15 {
        assert_eq!(buy(&app, 52_000, "OPEN").await, 422);
    }
}
