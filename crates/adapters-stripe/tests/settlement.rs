//! Reading what Stripe booked and paid out, against a local stand-in
//! speaking Stripe's list protocol (`data`, `has_more`, `starting_after`)
//! with bodies shaped like the `balance_transaction` and `payout` schemas
//! and fixtures of `shared/specs/stripe/`. The stand-in serves small pages,
//! so every read spans several. No internet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use adapters_stripe::{StripeConfig, StripeGateway};
use chrono::{DateTime, TimeZone, Utc};
use domain::money::{Currency, Money};
use domain::ports::{
    BankPayoutStatus, GatewayError, PayoutContents, SettlementGateway, SettlementKind, SettlementLine, SettlementPeriod,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// 2026-10-01T00:00:00Z.
const OCTOBER: i64 = 1_790_812_800;
const DAY: i64 = 86_400;

fn gateway(server: &MockServer) -> StripeGateway {
    let mut config = StripeConfig::new("sk_test_123".into());
    config.api_base = server.uri();
    config.timeout_ms = 2_000;
    config.max_retries = 0;
    StripeGateway::new(config).unwrap()
}

fn october() -> SettlementPeriod {
    SettlementPeriod::new(at(0), at(31 * DAY)).unwrap()
}

fn at(offset: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(OCTOBER + offset, 0).unwrap()
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

/// A Stripe list served `page` items at a time, from the item after
/// `starting_after`, newest first as Stripe lists.
struct Pages {
    items: Vec<Value>,
    page: usize,
}

impl Respond for Pages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let after = request.url.query_pairs().find(|(k, _)| k == "starting_after").map(|(_, v)| v.into_owned());
        let start = match after {
            Some(id) => {
                self.items.iter().position(|item| item["id"] == id.as_str()).map_or(self.items.len(), |i| i + 1)
            }
            None => 0,
        };
        let end = (start + self.page).min(self.items.len());
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "url": request.url.path(), "has_more": end < self.items.len(),
            "data": self.items[start..end].to_vec()
        }))
    }
}

/// A balance transaction as the schema describes it, `source` expanded.
fn txn(id: &str, kind: &str, amount: i64, fee: i64, source: Value, created: i64) -> Value {
    json!({
        "id": id, "object": "balance_transaction", "amount": amount, "available_on": OCTOBER + created + 2 * DAY,
        "created": OCTOBER + created, "currency": "usd", "description": null, "exchange_rate": null,
        "fee": fee, "fee_details": if fee == 0 { json!([]) } else {
            json!([{"amount": fee, "application": null, "currency": "usd", "description": "Stripe processing fees", "type": "stripe_fee"}])
        },
        "net": amount - fee, "reporting_category": kind, "source": source, "status": "available", "type": kind
    })
}

fn charge(id: &str, intent: &str, amount: i64) -> Value {
    json!({"id": id, "object": "charge", "amount": amount, "currency": "usd", "payment_intent": intent,
        "status": "succeeded", "paid": true, "refunded": false})
}

fn refund(id: &str, charge: &str, intent: &str, amount: i64) -> Value {
    json!({"id": id, "object": "refund", "amount": amount, "charge": charge, "currency": "usd",
        "payment_intent": intent, "status": "succeeded", "metadata": {}})
}

/// The first payout's month: two charges with their fees, two partial
/// refunds of the first, a lost dispute of the second (with its fee), a
/// fee line, a transfer to an instructor and its partial reversal, and the
/// payout itself taking the rest to the bank.
fn first_payout_lines() -> Vec<Value> {
    vec![
        txn("txn_payout_a", "payout", -2_805, 0, json!("po_A"), 7 * DAY),
        txn(
            "txn_trr_1",
            "transfer_refund",
            1_000,
            0,
            json!({"id": "trr_1", "object": "transfer_reversal", "amount": 1_000, "currency": "usd", "transfer": "tr_1"}),
            6 * DAY,
        ),
        txn(
            "txn_tr_1",
            "transfer",
            -3_000,
            0,
            json!({"id": "tr_1", "object": "transfer", "amount": 3_000, "currency": "usd", "destination": "acct_1"}),
            5 * DAY,
        ),
        txn("txn_fee_1", "stripe_fee", -200, 0, Value::Null, 5 * DAY),
        txn(
            "txn_dp_1",
            "adjustment",
            -5_000,
            1_500,
            json!({"id": "dp_1", "object": "dispute", "amount": 5_000, "charge": "ch_2", "currency": "usd",
                "payment_intent": "pi_2", "reason": "fraudulent", "status": "lost"}),
            4 * DAY,
        ),
        txn("txn_re_2", "refund", -1_000, 0, refund("re_2", "ch_1", "pi_1", 1_000), 3 * DAY),
        txn("txn_re_1", "refund", -2_000, 0, refund("re_1", "ch_1", "pi_1", 2_000), 2 * DAY),
        txn("txn_ch_2", "charge", 5_000, 175, charge("ch_2", "pi_2", 5_000), DAY),
        txn("txn_ch_1", "charge", 10_000, 320, charge("ch_1", "pi_1", 10_000), 3_600),
    ]
}

fn payout(id: &str, amount: i64, status: &str, created: i64) -> Value {
    json!({
        "id": id, "object": "payout", "amount": amount, "arrival_date": OCTOBER + created + 2 * DAY,
        "automatic": true, "balance_transaction": format!("txn_{id}"), "created": OCTOBER + created,
        "currency": "usd", "description": "STRIPE PAYOUT", "destination": "ba_1", "failure_balance_transaction": null,
        "failure_code": null, "failure_message": null, "livemode": false, "metadata": {}, "method": "standard",
        "original_payout": null, "reconciliation_status": if status == "paid" { "completed" } else { "in_progress" },
        "reversed_by": null, "source_type": "card", "statement_descriptor": null, "status": status, "type": "bank_account"
    })
}

fn ids(lines: &[SettlementLine]) -> Vec<&str> {
    lines.iter().map(|line| line.id.as_str()).collect()
}

#[tokio::test]
async fn a_payout_s_lines_are_read_across_pages_each_exactly_once_and_sum_to_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payouts/po_A"))
        .respond_with(ResponseTemplate::new(200).set_body_json(payout("po_A", 2_805, "paid", 7 * DAY)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/balance_transactions"))
        .and(query_param("payout", "po_A"))
        .and(query_param("limit", "100"))
        .and(query_param("expand[]", "data.source"))
        .respond_with(Pages { items: first_payout_lines(), page: 4 })
        .expect(3)
        .mount(&server)
        .await;

    let PayoutContents::Itemised(lines) = gateway(&server).payout_lines("po_A").await.unwrap() else {
        panic!("an automatic, reconciled payout lists its lines")
    };

    let expected: Vec<String> = first_payout_lines().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids(&lines), expected, "every line once, in Stripe's order");
    assert_eq!(lines.iter().map(|l| l.id.as_str()).collect::<HashSet<_>>().len(), lines.len());
    assert!(lines.iter().all(|line| line.payout.as_deref() == Some("po_A")));
    let net = lines.iter().try_fold(usd(0), |sum, line| sum.checked_add(line.amounts.net())).unwrap();
    assert_eq!(net, usd(0), "the payout line takes exactly what the other lines left");

    let line = |id: &str| lines.iter().find(|line| line.id == id).unwrap();
    let ch_1 = line("txn_ch_1");
    assert_eq!(
        (ch_1.kind.clone(), ch_1.source.as_deref(), ch_1.reference.as_deref()),
        (SettlementKind::Charge, Some("ch_1"), Some("pi_1"))
    );
    assert_eq!((ch_1.amounts.amount(), ch_1.amounts.fee(), ch_1.amounts.net()), (usd(10_000), usd(320), usd(9_680)));
    assert_eq!(ch_1.created, at(3_600));
    for refund in ["txn_re_1", "txn_re_2"] {
        assert_eq!(
            (line(refund).kind.clone(), line(refund).reference.as_deref()),
            (SettlementKind::Refund, Some("pi_1"))
        );
    }
    assert_eq!(line("txn_re_2").amounts.amount(), usd(-1_000));
    let dispute = line("txn_dp_1");
    assert_eq!(
        (dispute.kind.clone(), dispute.source.as_deref(), dispute.reference.as_deref()),
        (SettlementKind::Dispute, Some("dp_1"), Some("pi_2"))
    );
    assert_eq!(dispute.amounts.net(), usd(-6_500));
    assert_eq!(line("txn_fee_1").kind, SettlementKind::Fee);
    assert_eq!(
        (line("txn_tr_1").kind.clone(), line("txn_tr_1").source.as_deref()),
        (SettlementKind::Transfer, Some("tr_1"))
    );
    let reversal = line("txn_trr_1");
    assert_eq!(
        (reversal.kind.clone(), reversal.reference.as_deref()),
        (SettlementKind::TransferReversal, Some("tr_1"))
    );
    assert_eq!(
        (line("txn_payout_a").kind.clone(), line("txn_payout_a").source.as_deref()),
        (SettlementKind::BankPayout, Some("po_A"))
    );
}

#[tokio::test]
async fn a_month_s_payouts_are_read_across_pages_within_the_month() {
    let server = MockServer::start().await;
    let since = OCTOBER.to_string();
    let until = (OCTOBER + 31 * DAY).to_string();
    Mock::given(method("GET"))
        .and(path("/v1/payouts"))
        .and(query_param("created[gte]", since.as_str()))
        .and(query_param("created[lt]", until.as_str()))
        .respond_with(Pages {
            items: vec![
                payout("po_C", 4_200, "in_transit", 21 * DAY),
                payout("po_B", 9_900, "paid", 14 * DAY),
                payout("po_A", 2_805, "paid", 7 * DAY),
            ],
            page: 2,
        })
        .expect(2)
        .mount(&server)
        .await;

    let payouts = gateway(&server).payouts(october()).await.unwrap();

    let read: Vec<_> = payouts.iter().map(|p| (p.id.as_str(), p.amount, p.status.clone())).collect();
    assert_eq!(
        read,
        vec![
            ("po_C", usd(4_200), BankPayoutStatus::InTransit),
            ("po_B", usd(9_900), BankPayoutStatus::Paid),
            ("po_A", usd(2_805), BankPayoutStatus::Paid),
        ]
    );
    assert_eq!(payouts[2].arrival, Some(at(9 * DAY)));
}

#[tokio::test]
async fn a_period_s_lines_are_every_line_booked_in_it_and_none_outside() {
    let server = MockServer::start().await;
    let mut items = vec![
        // Booked at the period's end: it belongs to the next one.
        txn("txn_next", "charge", 700, 50, charge("ch_9", "pi_9", 700), 31 * DAY),
        txn("txn_ch_3", "charge", 2_000, 88, charge("ch_3", "pi_3", 2_000), 20 * DAY),
    ];
    items.extend(first_payout_lines());
    Mock::given(method("GET"))
        .and(path("/v1/balance_transactions"))
        .and(query_param("created[gte]", OCTOBER.to_string().as_str()))
        .and(query_param("expand[]", "data.source"))
        .respond_with(Pages { items, page: 3 })
        .expect(4)
        .mount(&server)
        .await;

    let lines = gateway(&server).lines(october()).await.unwrap();

    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0].id, "txn_ch_3");
    assert!(!ids(&lines).contains(&"txn_next"));
    assert!(lines.iter().all(|line| line.payout.is_none()), "a period read does not know the payouts");
}

#[tokio::test]
async fn a_line_in_a_currency_skillpay_does_not_know_stops_the_read() {
    let server = MockServer::start().await;
    let mut odd = txn("txn_xof", "charge", 5_000, 0, json!("ch_x"), DAY);
    odd["currency"] = json!("xof");
    Mock::given(method("GET"))
        .and(path("/v1/balance_transactions"))
        .respond_with(Pages { items: vec![txn("txn_ch_1", "charge", 100, 0, json!("ch_1"), DAY), odd], page: 1 })
        .mount(&server)
        .await;

    let refused = gateway(&server).lines(october()).await;

    assert!(matches!(refused, Err(GatewayError::InvalidRequest(message)) if message.contains("xof")));
}

#[tokio::test]
async fn a_payout_not_itemised_or_not_yet_reconciled_says_so_without_listing() {
    let server = MockServer::start().await;
    let mut manual = payout("po_M", 1_000, "paid", DAY);
    manual["automatic"] = json!(false);
    Mock::given(method("GET"))
        .and(path("/v1/payouts/po_M"))
        .respond_with(ResponseTemplate::new(200).set_body_json(manual))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payouts/po_C"))
        .respond_with(ResponseTemplate::new(200).set_body_json(payout("po_C", 4_200, "in_transit", DAY)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payouts/po_gone"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {"type": "invalid_request_error",
            "code": "resource_missing"}})))
        .mount(&server)
        .await;
    Mock::given(path("/v1/balance_transactions"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let stripe = gateway(&server);

    assert_eq!(stripe.payout_lines("po_M").await, Ok(PayoutContents::NotItemised));
    assert_eq!(stripe.payout_lines("po_C").await, Ok(PayoutContents::NotYet));
    assert_eq!(stripe.payout_lines("po_gone").await, Err(GatewayError::UnknownPayment));
    assert_eq!(stripe.payout_lines("po_A&payout=po_B").await, Err(GatewayError::UnknownPayment));
}

#[tokio::test]
async fn the_balance_is_read_per_currency() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "balance", "livemode": false,
            "available": [{"amount": 2_805, "currency": "usd", "source_types": {"card": 2_805}}],
            "connect_reserved": [{"amount": 0, "currency": "usd"}],
            "pending": [{"amount": 680, "currency": "usd", "source_types": {"card": 680}}]
        })))
        .mount(&server)
        .await;

    let balances = gateway(&server).balances().await.unwrap();

    assert_eq!(balances.len(), 1);
    assert_eq!((balances[0].available, balances[0].held), (usd(2_805), usd(680)));
}
