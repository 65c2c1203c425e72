//! Micro-benchmarks of Stripe webhook verification: the HMAC check alone
//! (one secret, and two during a rotation), a refused signature, and the
//! verifier's whole answer (signature plus reading the event). Every webhook
//! pays this before the database is touched. Run with
//! `cargo bench -p adapters-stripe`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use adapters_stripe::{StripeWebhookVerifier, sign, verify_signature};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::ports::{WebhookRequest, WebhookVerifier};

const SECRET: &str = "whsec_bench_current";
const OLD_SECRET: &str = "whsec_bench_previous";
const T: i64 = 1_700_000_000;

/// Pinned clock of the verifier, so the signature stays in tolerance.
fn clock() -> i64 {
    T + 5
}

/// A `payment_intent.succeeded` event of the size Stripe sends (~1.5 KB).
fn event_body() -> Vec<u8> {
    let padding = "x".repeat(1_200);
    format!(
        r#"{{"id":"evt_3PbenchEvent0001","object":"event","api_version":"2024-06-20","created":{T},"type":"payment_intent.succeeded","livemode":false,"pending_webhooks":1,"data":{{"object":{{"id":"pi_3PbenchIntent0001","object":"payment_intent","amount":4999,"currency":"usd","status":"succeeded","description":"{padding}"}}}}}}"#
    )
    .into_bytes()
}

fn signatures(c: &mut Criterion) {
    let body = event_body();
    let header = sign(&body, SECRET, T);
    let one = vec![SECRET.to_owned()];
    // During a rotation the new secret is listed second: the worst case
    // tries both.
    let rotating = vec![OLD_SECRET.to_owned(), SECRET.to_owned()];
    let mut group = c.benchmark_group("stripe_signature");
    group.bench_function("verify, one secret", |b| {
        b.iter(|| verify_signature(Some(black_box(&header)), black_box(&body), &one, T + 5))
    });
    group.bench_function("verify, two secrets (rotation)", |b| {
        b.iter(|| verify_signature(Some(black_box(&header)), black_box(&body), &rotating, T + 5))
    });
    let forged = sign(&body, "whsec_someone_else", T);
    group.bench_function("verify, wrong signature", |b| {
        b.iter(|| verify_signature(Some(black_box(&forged)), black_box(&body), &one, T + 5))
    });
    group.bench_function("sign", |b| b.iter(|| sign(black_box(&body), SECRET, T)));

    let verifier = StripeWebhookVerifier::with_clock(one.clone(), clock);
    let request = WebhookRequest { headers: vec![("stripe-signature".to_owned(), header.clone())], body: body.clone() };
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    group.bench_function("verifier: signature + event parse", |b| {
        b.iter(|| runtime.block_on(verifier.verify(black_box(&request))).unwrap())
    });
    group.finish();
}

criterion_group!(benches, signatures);
criterion_main!(benches);
