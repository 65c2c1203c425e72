use domain::usecases::Role;
use futures::future::join_all;
use serde_json::{Value, json};
use skillpay_e2e::{spawn_app, spawn_app_for_races};

#[tokio::test]
async fn two_hundred_concurrent_purchases_take_exactly_the_fifty_uses_of_a_coupon() {
    let app = spawn_app_for_races().await;
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
    let app = spawn_app_for_races().await;
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

/// The student's payment with coupon `code` on course 1, confirmed through
/// the sandbox; answers the confirmation's status.
async fn buy_and_confirm(app: &skillpay_e2e::TestApp, user: i64, code: &str) -> u16 {
    let token = app.token(user, Role::Student);
    let res = app
        .post("/api/payments/", &token, &json!({"course_id": 1, "coupon_code": code, "payment_method": "sandbox"}))
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/payments/{id}/confirm/"), &token, &json!({"payment_token": "sandbox_success"}))
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_last_uses_of_a_coupon_confirmed_at_once_announce_it_exhausted_exactly_once() {
    let app = spawn_app_for_races().await;
    app.put_course(1, "50.00", "USD").await;
    let coupon = app
        .create_coupon(json!({"code": "LAST8", "discount_type": "percentage", "discount_value": "10", "max_uses": 8}))
        .await;
    let coupon_id = coupon["id"].as_str().unwrap().to_owned();
    // Seven uses confirmed one after another: not exhausted yet.
    for user in 0..7 {
        assert_eq!(buy_and_confirm(&app, 20_000 + user, "LAST8").await, 200);
    }
    assert!(app.store.outbox_events_for(coupon_id.clone()).await.unwrap().is_empty());
    // The eighth use's confirmation races a purchase the limit refuses.
    let last = app.token(20_007, Role::Student);
    let other = app.token(30_000, Role::Student);
    let body = json!({"course_id": 1, "coupon_code": "LAST8", "payment_method": "sandbox"});
    let res = app.post("/api/payments/", &last, &body).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let token = json!({"payment_token": "sandbox_success"});
    let path = format!("/api/payments/{id}/confirm/");
    let (confirmed, refused) = tokio::join!(app.post(&path, &last, &token), app.post("/api/payments/", &other, &body));
    assert_eq!(confirmed.status(), 200);
    assert_eq!(refused.status(), 422);
    let events = app.store.outbox_events_for(coupon_id.clone()).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_type, "coupon.exhausted");
    assert_eq!(events[0].payload["code"], "LAST8");
    assert_eq!(events[0].payload["max_uses"], 8);
}

#[tokio::test]
async fn concurrent_confirmations_of_every_use_announce_the_coupon_exhausted_exactly_once() {
    let app = spawn_app_for_races().await;
    app.put_course(1, "50.00", "USD").await;
    let coupon = app
        .create_coupon(json!({"code": "RUSH", "discount_type": "fixed", "discount_value": "5.00", "currency": "USD", "max_uses": 12}))
        .await;
    let confirmations = join_all((0..12).map(|user| buy_and_confirm(&app, 40_000 + user, "RUSH"))).await;
    assert!(confirmations.iter().all(|s| *s == 200), "{confirmations:?}");
    let events = app.store.outbox_events_for(coupon["id"].as_str().unwrap().to_owned()).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.event_type == "coupon.exhausted").count(), 1, "{events:?}");
}

#[tokio::test]
async fn a_free_purchase_taking_the_last_use_announces_the_coupon_exhausted() {
    let app = spawn_app().await;
    app.put_course(1, "20.00", "USD").await;
    let coupon = app
        .create_coupon(json!({"code": "GIFT", "discount_type": "percentage", "discount_value": "100", "max_uses": 1}))
        .await;
    let token = app.token(50_000, Role::Student);
    let res = app
        .post("/api/payments/", &token, &json!({"course_id": 1, "coupon_code": "GIFT", "payment_method": "sandbox"}))
        .await;
    assert_eq!(res.status(), 201);
    let events = app.store.outbox_events_for(coupon["id"].as_str().unwrap().to_owned()).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "coupon.exhausted");
}

#[tokio::test]
async fn cancellations_giving_uses_back_race_new_purchases_of_the_coupon_without_errors() {
    let app = spawn_app_for_races().await;
    app.put_course(1, "30.00", "USD").await;
    app.create_coupon(json!({"code": "SWAP", "discount_type": "percentage", "discount_value": "20", "max_uses": 40}))
        .await;
    let body = json!({"course_id": 1, "coupon_code": "SWAP", "payment_method": "sandbox"});
    let mut first = Vec::new();
    for user in 0..15 {
        let token = app.token(60_000 + user, Role::Student);
        let res = app.post("/api/payments/", &token, &body).await;
        assert_eq!(res.status(), 201);
        first.push((token, res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()));
    }
    let empty = json!({});
    let cancel_paths: Vec<(String, &String)> =
        first.iter().map(|(token, id)| (format!("/api/payments/{id}/cancel/"), token)).collect();
    let cancels = join_all(cancel_paths.iter().map(|(path, token)| app.post(path, token, &empty)));
    let newcomers: Vec<String> = (0..15).map(|user| app.token(70_000 + user, Role::Student)).collect();
    let purchases = join_all(newcomers.iter().map(|token| app.post("/api/payments/", token, &body)));
    let (cancels, purchases) = tokio::join!(cancels, purchases);
    assert!(cancels.iter().all(|r| r.status() == 200), "{:?}", cancels.iter().map(|r| r.status()).collect::<Vec<_>>());
    assert!(purchases.iter().all(|r| r.status() == 201));
    let live = app
        .store
        .scalar("SELECT count(*) AS n FROM coupon_redemptions WHERE status IN ('reserved', 'confirmed')")
        .unwrap();
    let times_used = app.store.scalar("SELECT times_used::bigint AS n FROM coupons WHERE code = 'SWAP'").unwrap();
    assert_eq!((live, times_used), (15, 15));
}

#[tokio::test]
async fn uses_of_an_unlimited_coupon_are_counted_exactly_while_purchases_and_cancellations_race() {
    let app = spawn_app_for_races().await;
    app.put_course(1, "30.00", "USD").await;
    let coupon =
        app.create_coupon(json!({"code": "OPEN", "discount_type": "percentage", "discount_value": "20"})).await;
    let id = coupon["id"].as_str().unwrap().to_owned();
    let body = json!({"course_id": 1, "coupon_code": "OPEN", "payment_method": "sandbox"});
    let mut first = Vec::new();
    for user in 0..20 {
        let token = app.token(80_000 + user, Role::Student);
        let res = app.post("/api/payments/", &token, &body).await;
        assert_eq!(res.status(), 201);
        first.push((token, res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()));
    }
    // Half are cancelled (their uses given back) while forty more buy.
    let empty = json!({});
    let cancel_paths: Vec<(String, &String)> =
        first.iter().step_by(2).map(|(token, id)| (format!("/api/payments/{id}/cancel/"), token)).collect();
    let cancels = join_all(cancel_paths.iter().map(|(path, token)| app.post(path, token, &empty)));
    let newcomers: Vec<String> = (0..40).map(|user| app.token(90_000 + user, Role::Student)).collect();
    let purchases = join_all(newcomers.iter().map(|token| app.post("/api/payments/", token, &body)));
    let (cancels, purchases) = tokio::join!(cancels, purchases);
    assert!(cancels.iter().all(|r| r.status() == 200));
    assert!(purchases.iter().all(|r| r.status() == 201));
    let usage: Value = app.get(&format!("/api/payments/coupons/{id}/"), &app.admin()).await.json().await.unwrap();
    assert_eq!((usage["times_used"].as_u64(), usage["reserved"].as_u64()), (Some(50), Some(50)));
    let listed: Value = app.get("/api/payments/coupons/", &app.admin()).await.json().await.unwrap();
    assert_eq!(listed["data"][0]["times_used"], 50);
    // Counted on the coupon's count rows, never on the coupon row, which
    // purchases therefore do not queue on.
    let on_coupon = app.store.scalar("SELECT times_used::bigint AS n FROM coupons WHERE code = 'OPEN'").unwrap();
    let rows = app.store.scalar("SELECT count(*) AS n FROM coupon_use_counts").unwrap();
    assert_eq!(on_coupon, 0);
    assert!(rows > 1, "uses spread over {rows} rows");
}

#[tokio::test]
async fn usable_coupons_leave_out_deactivated_not_yet_valid_expiring_and_exhausted_ones() {
    let app = spawn_app().await;
    app.put_course(1, "50.00", "USD").await;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    for coupon in [
        json!({"code": "USABLE", "discount_type": "percentage", "discount_value": "10"}),
        json!({"code": "LATER", "discount_type": "percentage", "discount_value": "10", "valid_from": tomorrow}),
        json!({"code": "ONCE", "discount_type": "percentage", "discount_value": "10", "max_uses": 1}),
        json!({"code": "OFF", "discount_type": "percentage", "discount_value": "10"}),
    ] {
        app.create_coupon(coupon).await;
    }
    let all: Value = app.get("/api/payments/coupons/", &app.admin()).await.json().await.unwrap();
    let off = all["data"].as_array().unwrap().iter().find(|c| c["code"] == "OFF").unwrap()["id"].clone();
    let res = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/payments/coupons/{}/", off.as_str().unwrap()),
            Some(&app.admin()),
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    // ONCE's one use is taken by a paid purchase.
    let student = app.token(1000, Role::Student);
    let body = json!({"course_id": 1, "payment_method": "sandbox", "coupon_code": "ONCE"});
    let created: Value = app.post("/api/payments/", &student, &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let confirm = json!({"payment_token": "sandbox_success"});
    let paid = app.post(&format!("/api/payments/{id}/confirm/"), &student, &confirm).await;
    assert_eq!(paid.status(), 200);

    let usable: Value = app.get("/api/payments/coupons/?usable=true", &app.admin()).await.json().await.unwrap();
    let codes: Vec<&str> = usable["data"].as_array().unwrap().iter().filter_map(|c| c["code"].as_str()).collect();
    assert_eq!(codes, ["USABLE"]);
    let every: Value = app.get("/api/payments/coupons/?usable=false", &app.admin()).await.json().await.unwrap();
    assert_eq!(every["data"].as_array().unwrap().len(), 4);
}
