//! Rate limits hold across instances: two servers over one database share
//! the counters.

use std::net::TcpListener;

use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::spawn_app_with;

#[tokio::test]
async fn payment_creation_is_limited_per_user_across_instances_with_retry_after() {
    let app =
        spawn_app_with(&[("SKILLPAY_RATE_PAYMENTS_PER_USER", "3"), ("SKILLPAY_RATE_VALIDATIONS_PER_IP", "4")]).await;
    for course in 1..=4 {
        app.put_course(course, "10.00", "USD").await;
    }
    // A second instance: its own pool and state over the same database.
    let other_state = app::app_state(&app.config, app::connect(&app.config).unwrap()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app::start_server(other_state, listener, 5).unwrap());

    let student = app.token(1000, Role::Student);
    let body = json!({"course_id": 1, "payment_method": "sandbox"});
    // Courses of their own: a buyer holds a course once.
    let create = |base: String, course: i64| {
        let (client, student) = (app.client.clone(), student.clone());
        let body = json!({"course_id": course, "payment_method": "sandbox"});
        async move { client.post(format!("{base}/api/payments/")).bearer_auth(student).json(&body).send().await.unwrap() }
    };
    for (base, course) in [(&app.base, 1), (&other, 2), (&app.base, 3)] {
        assert_eq!(create(base.clone(), course).await.status(), 201);
    }
    let limited = create(other.clone(), 4).await;
    assert_eq!(limited.status(), 429);
    let retry_after: i64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let problem: Value = limited.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM payments").unwrap(), 3, "the limited request wrote nothing");

    // Another user is not limited by the first one's requests.
    let res = app.post("/api/payments/", &app.token(2000, Role::Student), &body).await;
    assert_eq!(res.status(), 201);

    // Coupon validation is limited per address, whoever asks.
    let check = json!({"code": "NOPE", "course_id": 1});
    let mut statuses = Vec::new();
    for user in 1..=5 {
        statuses.push(
            app.post("/api/payments/coupons/validate/", &app.token(3000 + user, Role::Student), &check).await.status(),
        );
    }
    assert_eq!(statuses.iter().filter(|s| s.as_u16() == 429).count(), 1, "{statuses:?}");
}

#[tokio::test]
async fn replays_of_an_idempotency_key_are_free_and_a_limited_key_can_be_retried() {
    let app = spawn_app_with(&[("SKILLPAY_RATE_PAYMENTS_PER_USER", "1")]).await;
    app.put_course(1, "10.00", "USD").await;
    let student = app.token(1000, Role::Student);
    let body = json!({"course_id": 1, "payment_method": "sandbox"});
    let send = |key: &'static str| {
        let (app, student, body) = (&app, student.clone(), body.clone());
        async move {
            app.request(reqwest::Method::POST, "/api/payments/", Some(&student))
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(send("first").await, 201);
    assert_eq!(send("first").await, 201, "a replay does not count");
    assert_eq!(send("second").await, 429);
    // The limited key was not stored with its 429: it stays usable.
    let stored = app.store.scalar("SELECT count(*) AS n FROM idempotency_keys WHERE key = 'second'").unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_has_its_own_bucket_and_one_user_cannot_use_it_up() {
    let app = spawn_app_with(&[
        ("SKILLPAY_RATE_PAYMENTS_PER_USER", "2"),
        ("SKILLPAY_RATE_PAYMENTS_PER_IP", "3"),
        // The test client connects from loopback, standing for the balancer.
        ("SKILLPAY_TRUSTED_PROXIES", "127.0.0.0/8,::1"),
    ])
    .await;
    app.put_course(1, "10.00", "USD").await;
    let body = json!({"course_id": 1, "payment_method": "sandbox"});
    let create = |user: i64, forwarded_for: &'static str| {
        let (app, body) = (&app, body.clone());
        async move {
            app.request(reqwest::Method::POST, "/api/payments/", Some(&app.token(user, Role::Student)))
                .header("X-Forwarded-For", forwarded_for)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // One account hammering from the campus NAT: its own limit refuses it,
    // and its refused requests do not count against the NAT's address.
    let mut hammering = Vec::new();
    for _ in 0..10 {
        hammering.push(create(1, "203.0.113.50, 127.0.0.1").await);
    }
    // Created once, then found again (a buyer holds a course once): both
    // count against the account's limit.
    assert_eq!(hammering.iter().filter(|s| (200..300).contains(*s)).count(), 2, "{hammering:?}");
    assert_eq!(create(2, "203.0.113.50").await, 201, "another student behind the same NAT still pays");
    assert_eq!(create(3, "203.0.113.50").await, 429, "the NAT's own limit of 3 holds");
    // A different client address is a different bucket, not the proxy's.
    assert_eq!(create(4, "198.51.100.20").await, 201);
    let recorded = app.store.scalar("SELECT count(*) AS n FROM payments WHERE ip_address = '198.51.100.20'").unwrap();
    assert_eq!(recorded, 1, "the payment records the client's address, not the proxy's");
    let proxies = app.store.scalar("SELECT count(*) AS n FROM payments WHERE ip_address = '127.0.0.1'").unwrap();
    assert_eq!(proxies, 0);
}
