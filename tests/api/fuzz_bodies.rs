//! Random JSON (shaped with the API's own field names) and random bytes
//! sent to every endpoint that takes a body: never a 5xx, always a
//! problem+json for a refusal. The generator's seed is printed on failure
//! with the body that broke it.

use domain::usecases::Role;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value};
use skillpay_e2e::spawn_app_with;

const FIELDS: &[&str] = &[
    "course_id",
    "event_id",
    "payment_method",
    "coupon_code",
    "code",
    "amount",
    "currency",
    "reason",
    "payment_id",
    "method",
    "destination",
    "email",
    "account_id",
    "account_number",
    "account_holder",
    "explanation",
    "outcome",
    "url",
    "event_types",
    "price",
    "title",
    "instructor_id",
    "active",
    "discount_type",
    "discount_value",
    "max_uses",
    "payment_token",
    "billing",
    "credentials",
    "is_active",
    "evidence_due_by",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12_f64..1e12).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "-?[0-9]{0,14}(\\.[0-9]{0,4})?".prop_map(Value::String),
        "(USD|JPY|EUR|usd|XXX|)".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(FIELDS), inner), 0..8).prop_map(|pairs| Value::Object(
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>()
            )),
        ]
    })
}

#[tokio::test]
async fn random_bodies_never_cause_a_server_error() {
    let app = spawn_app_with(&[
        ("SKILLPAY_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
        ("SKILLPAY_RATE_PAYMENTS_PER_USER", "1000000"),
        ("SKILLPAY_RATE_VALIDATIONS_PER_USER", "1000000"),
    ])
    .await;
    app.put_course(1, "10.00", "USD").await;
    let student = app.token(1000, Role::Student);
    let instructor = app.token(100, Role::Instructor);
    let admin = app.admin();
    let targets = [
        (Method::POST, "/api/payments/", &student),
        (Method::POST, "/api/payments/coupons/validate/", &student),
        (Method::POST, "/api/payments/refunds/", &student),
        (Method::POST, "/api/payments/payouts/", &instructor),
        (Method::POST, "/api/payments/coupons/", &admin),
        (Method::PUT, "/api/payments/catalog/courses/7/", &admin),
        (Method::POST, "/api/payments/disputes/", &admin),
        (Method::POST, "/api/payments/admin/event-endpoints/", &admin),
        (Method::PUT, "/api/payments/admin/gateway-configs/stripe/test/", &admin),
    ];
    let cases: u32 = std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(120);
    let mut runner = TestRunner::new(Config::default());
    let values = json_value();
    let bytes = proptest::collection::vec(any::<u8>(), 0..200);
    let mut failures = Vec::new();
    for (method, path, token) in &targets {
        for case in 0..cases {
            let body: Vec<u8> = if case % 4 == 3 {
                bytes.new_tree(&mut runner).unwrap().current()
            } else {
                serde_json::to_vec(&values.new_tree(&mut runner).unwrap().current()).unwrap()
            };
            let res = app
                .request(method.clone(), path, Some(token))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let problem = res.headers().get("content-type").is_some_and(|v| v == "application/problem+json");
            if status >= 500 || (status >= 400 && !problem) {
                failures.push(format!("{method} {path} -> {status}: {}", String::from_utf8_lossy(&body)));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
