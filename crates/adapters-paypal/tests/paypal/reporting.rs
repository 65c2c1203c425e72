//! What PayPal booked, read with Transaction Search from a stand-in that
//! answers like `reporting_transactions_v1.json` describes: the request's
//! window (its end counted in, so a transaction at the instant two windows
//! share is offered twice), small pages with `total_pages`, amounts as
//! signed decimal strings. A period of 77 days is read in three windows.

use std::collections::HashSet;

use chrono::{DateTime, TimeZone, Utc};
use domain::money::{Currency, Money};
use domain::ports::{
    BankPayoutStatus, GatewayBalance, PayoutContents, SettlementGateway, SettlementKind, SettlementPeriod,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::support::FakePaypal;

const SEARCH_PATH: &str = "/v1/reporting/transactions";
/// Transactions per page the stand-in serves (PayPal allows up to 500).
const STAND_IN_PAGE: usize = 2;

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// A `transaction_detail` with its `transaction_info` (PayPal writes the
/// offset without a colon in its answers).
fn transaction(id: &str, code: &str, at: &str, amount: &str, fee: Option<&str>, reference: Option<&str>) -> Value {
    let mut info = json!({
        "paypal_account_id": "6STWC2LSUYYYE", "transaction_id": id, "transaction_event_code": code,
        "transaction_initiation_date": at.replace('Z', "+0000"), "transaction_updated_date": at.replace('Z', "+0000"),
        "transaction_amount": {"currency_code": "USD", "value": amount}, "transaction_status": "S",
        "protection_eligibility": "01"
    });
    if let Some(fee) = fee {
        info["fee_amount"] = json!({"currency_code": "USD", "value": fee});
    }
    if let Some(reference) = reference {
        info["paypal_reference_id"] = json!(reference);
        info["paypal_reference_id_type"] = json!("TXN");
    }
    json!({"transaction_info": info, "payer_info": {"account_id": "6STWC2LSUYYYE"}, "cart_info": {}, "store_info": {},
        "auction_info": {}, "incentive_info": {}})
}

/// Three months: payments with their fees, a partial refund giving part
/// of the fee back, a payment taken back by a chargeback with its fee, a
/// payout to an instructor, and two withdrawals to the bank.
fn books() -> Vec<Value> {
    let mut pending = transaction("W2", "T0400", "2026-10-30T09:00:00Z", "-10.00", None, None);
    pending["transaction_info"]["transaction_status"] = json!("P");
    vec![
        transaction("CAPA", "T0006", "2026-08-20T10:00:00Z", "49.99", Some("-2.24"), Some("ORDERA")),
        transaction("CAPB", "T0006", "2026-09-01T10:00:00Z", "100.00", Some("-3.98"), Some("ORDERB")),
        transaction("REFB", "T1107", "2026-09-10T10:00:00Z", "-40.00", Some("1.20"), Some("CAPB")),
        // At the instant the first window ends and the second starts.
        transaction("CAPC", "T0006", "2026-09-15T00:00:00Z", "20.00", Some("-1.08"), Some("ORDERC")),
        transaction("REVA", "T1106", "2026-09-20T10:00:00Z", "-49.99", None, Some("CAPA")),
        transaction("FEEA", "T0106", "2026-09-20T10:00:01Z", "-20.00", None, Some("CAPA")),
        transaction("PAYI", "T0001", "2026-10-01T12:00:00Z", "-30.00", Some("-0.25"), None),
        transaction("W1", "T0400", "2026-10-20T09:00:00Z", "-50.00", None, None),
        transaction("CAPD", "T0003", "2026-10-25T10:00:00Z", "15.00", Some("-0.74"), Some("ORDERD")),
        pending,
    ]
}

/// Transaction Search over `books`: the window asked for, end included,
/// `STAND_IN_PAGE` at a time.
struct Search(Vec<Value>);

impl Respond for Search {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query = |name: &str| request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        let (Some(start), Some(end)) = (query("start_date"), query("end_date")) else {
            return ResponseTemplate::new(400).set_body_json(json!({"name": "INVALID_REQUEST"}));
        };
        let (start, end) = (utc(&start), utc(&end));
        if end - start > chrono::Duration::days(31) {
            return ResponseTemplate::new(400).set_body_json(json!({"name": "INVALID_REQUEST",
                "details": [{"issue": "RESULTSET_TOO_LARGE"}]}));
        }
        let page: usize = query("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let within: Vec<Value> = self
            .0
            .iter()
            .filter(|t| {
                let at = t["transaction_info"]["transaction_initiation_date"].as_str().unwrap().replace("+0000", "Z");
                (start..=end).contains(&utc(&at))
            })
            .cloned()
            .collect();
        let total_pages = within.len().div_ceil(STAND_IN_PAGE).max(1);
        let shown: Vec<Value> = within.iter().skip((page - 1) * STAND_IN_PAGE).take(STAND_IN_PAGE).cloned().collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "transaction_details": shown, "account_number": "XZXSPECIMEN", "start_date": start.to_rfc3339(),
            "end_date": end.to_rfc3339(), "last_refreshed_datetime": "2026-11-01T00:00:00+0000",
            "page": page, "total_items": within.len(), "total_pages": total_pages,
            "links": [{"href": format!("https://api-m.sandbox.paypal.com{SEARCH_PATH}"), "rel": "self", "method": "GET"}]
        }))
    }
}

async fn stand_in() -> FakePaypal {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("GET")).and(path(SEARCH_PATH)).respond_with(Search(books())).mount(&paypal.server).await;
    paypal
}

fn period() -> SettlementPeriod {
    SettlementPeriod::new(
        Utc.with_ymd_and_hms(2026, 8, 15, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 10, 31, 0, 0, 0).unwrap(),
    )
    .unwrap()
}

fn param(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn a_long_period_is_read_in_windows_of_at_most_31_days_every_page_every_line_once() {
    let paypal = stand_in().await;

    let lines = paypal.gateway().lines(period()).await.unwrap();

    let ids: Vec<&str> = lines.iter().map(|line| line.id.as_str()).collect();
    assert_eq!(ids, ["CAPA", "CAPB", "REFB", "CAPC", "REVA", "FEEA", "PAYI", "W1", "CAPD", "W2"]);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "the boundary transaction is read once");

    let requests = paypal.requests_to(SEARCH_PATH).await;
    let windows: Vec<(String, String)> = requests
        .iter()
        .filter(|r| param(r, "page").as_deref() == Some("1"))
        .map(|r| (param(r, "start_date").unwrap(), param(r, "end_date").unwrap()))
        .collect();
    assert_eq!(
        windows,
        [
            ("2026-08-15T00:00:00Z".to_owned(), "2026-09-15T00:00:00Z".to_owned()),
            ("2026-09-15T00:00:00Z".to_owned(), "2026-10-16T00:00:00Z".to_owned()),
            ("2026-10-16T00:00:00Z".to_owned(), "2026-10-31T00:00:00Z".to_owned()),
        ]
    );
    // Four transactions offered in the first two windows, three in the last:
    // two pages each.
    assert_eq!(requests.len(), 6);
    assert!(requests.iter().any(|r| param(r, "page").as_deref() == Some("2")));
    for request in &requests {
        assert_eq!(param(request, "fields").as_deref(), Some("all"));
        assert_eq!(param(request, "page_size").as_deref(), Some("500"));
        assert_eq!(param(request, "balance_affecting_records_only").as_deref(), Some("Y"));
    }
}

#[tokio::test]
async fn each_transaction_becomes_a_line_with_its_kind_exact_figures_and_references() {
    let paypal = stand_in().await;

    let lines = paypal.gateway().lines(period()).await.unwrap();

    let line = |id: &str| lines.iter().find(|line| line.id == id).unwrap();
    let capture = line("CAPB");
    assert_eq!(
        (capture.kind.clone(), capture.source.as_deref(), capture.reference.as_deref()),
        (SettlementKind::Charge, Some("CAPB"), Some("ORDERB"))
    );
    assert_eq!(
        (capture.amounts.amount(), capture.amounts.fee(), capture.amounts.net()),
        (usd(10_000), usd(398), usd(9_602))
    );
    assert_eq!(capture.created, utc("2026-09-01T10:00:00Z"));
    let refund = line("REFB");
    assert_eq!((refund.kind.clone(), refund.reference.as_deref()), (SettlementKind::Refund, Some("CAPB")));
    assert_eq!(
        (refund.amounts.amount(), refund.amounts.fee(), refund.amounts.net()),
        (usd(-4_000), usd(-120), usd(-3_880))
    );
    assert_eq!((line("REVA").kind.clone(), line("REVA").reference.as_deref()), (SettlementKind::Dispute, Some("CAPA")));
    assert_eq!(line("FEEA").kind, SettlementKind::Fee);
    assert_eq!(line("PAYI").kind, SettlementKind::Transfer);
    assert_eq!(line("CAPD").kind, SettlementKind::Charge);
    assert_eq!((line("W1").kind.clone(), line("W1").amounts.net()), (SettlementKind::BankPayout, usd(-5_000)));
    let net = lines.iter().try_fold(usd(0), |sum, line| sum.checked_add(line.amounts.net())).unwrap();
    // 47.75 + 96.02 - 38.80 + 18.92 - 49.99 - 20.00 - 30.25 - 50.00 + 14.26 - 10.00
    assert_eq!(net, usd(-2_209));
}

#[tokio::test]
async fn withdrawals_to_the_bank_are_the_payouts_and_none_is_itemised() {
    let paypal = stand_in().await;
    let gateway = paypal.gateway();

    let payouts = gateway.payouts(period()).await.unwrap();

    let read: Vec<_> = payouts.iter().map(|p| (p.id.as_str(), p.amount, p.status.clone())).collect();
    assert_eq!(read, [("W1", usd(5_000), BankPayoutStatus::Paid), ("W2", usd(1_000), BankPayoutStatus::Pending)]);
    let searches = paypal.requests_to(SEARCH_PATH).await.len();
    assert_eq!(gateway.payout_lines("W1").await, Ok(PayoutContents::NotItemised));
    assert_eq!(paypal.requests_to(SEARCH_PATH).await.len(), searches, "answered without a call");
}

#[tokio::test]
async fn a_period_inside_one_window_is_one_search() {
    let paypal = stand_in().await;
    let september = SettlementPeriod::new(utc("2026-09-01T00:00:00Z"), utc("2026-09-15T00:00:00Z")).unwrap();

    let lines = paypal.gateway().lines(september).await.unwrap();

    assert_eq!(lines.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(), ["CAPB", "REFB"], "CAPC is the next period's");
    let requests = paypal.requests_to(SEARCH_PATH).await;
    assert_eq!(requests.len(), 2, "one window, two pages");
}

#[tokio::test]
async fn the_balances_report_gives_available_and_withheld_per_currency() {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("GET"))
        .and(path("/v1/reporting/balances"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "balances": [
                {"currency": "USD", "primary": true,
                 "total_balance": {"currency_code": "USD", "value": "1180.50"},
                 "available_balance": {"currency_code": "USD", "value": "1000.50"},
                 "withheld_balance": {"currency_code": "USD", "value": "180.00"}},
                {"currency": "JPY", "primary": false,
                 "total_balance": {"currency_code": "JPY", "value": "5000"},
                 "available_balance": {"currency_code": "JPY", "value": "5000"}}
            ],
            "account_id": "XZXSPECIMEN", "as_of_time": "2026-11-01T00:00:00Z", "last_refresh_time": "2026-11-01T00:00:00Z"
        })))
        .mount(&paypal.server)
        .await;

    let balances = paypal.gateway().balances().await.unwrap();

    let yen = |minor| Money::from_minor(minor, Currency::JPY);
    assert_eq!(
        balances,
        [
            GatewayBalance { available: usd(100_050), held: usd(18_000) },
            GatewayBalance { available: yen(5_000), held: yen(0) },
        ]
    );
}
