use domain::usecases::Role;
use futures::future::join_all;
use serde_json::{Value, json};
use skillpay_e2e::spawn_app;

#[tokio::test]
async fn two_hundred_concurrent_purchases_take_exactly_the_fifty_uses_of_a_coupon() {
    let app = spawn_app().await;
    app.put_course(1, "100.00", "USD").await;
    let coupon = app
        .create_coupon(json!({"code": "FIFTY", "discount_type": "percentage", "discount_value": "10", "max_uses": 50}))
        .await;
    let requests = (0..200).map(|i| {
        let token = app.token(10_000 + i, Role::Student);
        let app = &app;
        async move {
            let res = app
                .post(
                    "/api/payments/",
                    &token,
                    &json!({"course_id": 1, "coupon_code": "FIFTY", "payment_method": "sandbox"}),
                )
                .await;
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    });
    let answers = join_all(requests).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 50);
    for (status, body) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*status, 422, "{body}");
        assert_eq!(body["code"], "coupon_not_applicable");
        assert_eq!(body["reason"], "exhausted");
    }
    assert_eq!(app.count("payments").await, 50);
    assert_eq!(app.count("coupon_redemptions").await, 50);
    let usage: Value = app
        .get(&format!("/api/payments/coupons/{}/", coupon["id"].as_str().unwrap()), &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usage["times_used"], 50);
    assert_eq!(usage["reserved"], 50);
}

#[tokio::test]
async fn one_user_racing_twenty_purchases_against_a_per_user_limit_of_one_gets_exactly_one() {
    let app = spawn_app().await;
    app.put_course(1, "100.00", "USD").await;
    app.create_coupon(json!({"code": "ONEEACH", "discount_type": "fixed", "discount_value": "10.00", "currency": "USD", "max_uses_per_user": 1}))
        .await;
    let token = app.token(777, Role::Student);
    let body = json!({"course_id": 1, "coupon_code": "ONEEACH", "payment_method": "sandbox"});
    let requests = (0..20).map(|_| app.post("/api/payments/", &token, &body));
    let answers = join_all(requests).await;
    let mut created = 0;
    for res in answers {
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        if status == 201 {
            created += 1;
        } else {
            assert_eq!(status, 422);
            assert_eq!(body["reason"], "per_user_limit");
        }
    }
    assert_eq!(created, 1);
    assert_eq!(app.count("coupon_redemptions").await, 1);
}

#[tokio::test]
async fn validation_answers_the_discount_or_a_stable_reason() {
    let app = spawn_app().await;
    app.put_course(1, "49.99", "USD").await;
    app.put_course(2, "10.00", "EUR").await;
    app.create_coupon(json!({"code": "TENOFF", "discount_type": "fixed", "discount_value": "10.00", "currency": "USD",
        "min_order_amount": "20.00", "course_ids": [1]}))
        .await;
    app.create_coupon(json!({"code": "LATER", "discount_type": "percentage", "discount_value": "5",
        "valid_from": "2999-01-01T00:00:00Z"}))
        .await;
    app.create_coupon(json!({"code": "GONE", "discount_type": "percentage", "discount_value": "5",
        "valid_from": "2000-01-01T00:00:00Z", "expires_at": "2001-01-01T00:00:00Z"}))
        .await;
    let student = app.token(5, Role::Student);
    let validate = |code: &str, course: i64| {
        let body = json!({"code": code, "course_id": course});
        let app = &app;
        let student = student.clone();
        async move { app.post("/api/payments/coupons/validate/", &student, &body).await.json::<Value>().await.unwrap() }
    };
    let ok = validate("tenoff", 1).await;
    assert_eq!(ok, json!({"valid": true, "discount_amount": "10.00", "final_amount": "39.99", "currency": "USD"}));
    assert_eq!(validate("TENOFF", 2).await["reason"], "not_applicable");
    assert_eq!(validate("NOPE", 1).await["reason"], "not_found");
    assert_eq!(validate("x", 1).await["reason"], "not_found");
    assert_eq!(validate("LATER", 1).await["reason"], "not_yet_valid");
    assert_eq!(validate("GONE", 1).await["reason"], "expired");

    let list: Value = app.get("/api/payments/coupons/?is_active=true", &app.admin()).await.json().await.unwrap();
    let id = list["data"].as_array().unwrap().iter().find(|c| c["code"] == "LATER").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deactivated = app
        .request(reqwest::Method::DELETE, &format!("/api/payments/coupons/{id}/"), Some(&app.admin()))
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), 200);
    assert_eq!(validate("LATER", 1).await["reason"], "inactive");
    let inactive: Value = app.get("/api/payments/coupons/?is_active=false", &app.admin()).await.json().await.unwrap();
    assert_eq!(inactive["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_duplicate_coupon_code_is_a_conflict() {
    let app = spawn_app().await;
    app.create_coupon(json!({"code": "DUP", "discount_type": "percentage", "discount_value": "5"})).await;
    let res = app
        .post(
            "/api/payments/coupons/",
            &app.admin(),
            &json!({"code": "dup", "discount_type": "percentage", "discount_value": "7"}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "duplicate_coupon_code");
}
