//! Settlement reconciliation of PayPal's books end to end: payments taken
//! with PayPal's order ids (a stand-in payment gateway keeping 2.24 of
//! each 49.99 and giving 0.45 back with a 10.00 refund), the real PayPal
//! reader reading Transaction Search (OAuth token, pages of two, signed
//! decimal amounts, the window's end counted in) from a stand-in shaped by
//! `reporting_transactions_v1.json`, compared with the ledger in a real
//! PostgreSQL.

use std::sync::Arc;

use adapters_paypal::{PaypalClient, PaypalConfig, PaypalGateway, Secret};
use chrono::{DateTime, Duration, DurationRound, Utc};
use domain::gateway_config::GatewayMode;
use domain::ports::{DiscrepancyQuery, GatewayDescriptor, ReconciliationStore};
use domain::reconciliation::{DiscrepancyStatus, SettledGateway};
use domain::usecases::reconciliation::SweepPolicy;
use domain::usecases::settlement::RunOutcome;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with_gateways};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::settlement::{StandInPayments, journals, paid_with, refunded};

/// Transaction Search over some transactions: the window asked for (its
/// end counted in, as PayPal does), two per page, with `total_pages`.
struct Search(Arc<std::sync::Mutex<Vec<Value>>>);

impl Respond for Search {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query = |name: &str| request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
        let (start, end) = (at(&query("start_date").unwrap()), at(&query("end_date").unwrap()));
        assert!(end - start <= Duration::days(31), "PayPal answers 31 days at most");
        let page: usize = query("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let within: Vec<Value> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|t| {
                let when = t["transaction_info"]["transaction_initiation_date"].as_str().unwrap().replace("+0000", "Z");
                (start..=end).contains(&at(&when))
            })
            .cloned()
            .collect();
        let total_pages = within.len().div_ceil(2).max(1);
        let shown: Vec<Value> = within.iter().skip((page - 1) * 2).take(2).cloned().collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "transaction_details": shown, "account_number": "XZXSPECIMEN", "page": page,
            "total_items": within.len(), "total_pages": total_pages,
            "start_date": start.to_rfc3339(), "end_date": end.to_rfc3339(),
        }))
    }
}

/// PayPal's books as a stand-in serves them.
struct Books {
    server: MockServer,
    transactions: Arc<std::sync::Mutex<Vec<Value>>>,
}

impl Books {
    async fn start() -> Books {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/oauth2/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "scope": "https://uri.paypal.com/services/reporting/search/read", "access_token": "A21AAtoken",
                "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32_400, "nonce": "n"
            })))
            .mount(&server)
            .await;
        let transactions = Arc::new(std::sync::Mutex::new(Vec::new()));
        Mock::given(method("GET"))
            .and(path("/v1/reporting/transactions"))
            .respond_with(Search(transactions.clone()))
            .mount(&server)
            .await;
        Books { server, transactions }
    }

    /// A transaction booked `days_ago` at noon UTC (PayPal writes the
    /// offset without a colon).
    fn transaction(
        &self,
        id: &str,
        code: &str,
        days_ago: i64,
        amount: &str,
        fee: Option<&str>,
        reference: Option<&str>,
    ) {
        let at = (today() - Duration::days(days_ago) + Duration::hours(12)).format("%Y-%m-%dT%H:%M:%S+0000");
        let mut info = json!({
            "paypal_account_id": "6STWC2LSUYYYE", "transaction_id": id, "transaction_event_code": code,
            "transaction_initiation_date": at.to_string(), "transaction_updated_date": at.to_string(),
            "transaction_amount": {"currency_code": "USD", "value": amount}, "transaction_status": "S",
        });
        if let Some(fee) = fee {
            info["fee_amount"] = json!({"currency_code": "USD", "value": fee});
        }
        if let Some(reference) = reference {
            info["paypal_reference_id"] = json!(reference);
            info["paypal_reference_id_type"] = json!("TXN");
        }
        self.transactions.lock().unwrap().push(json!({"transaction_info": info, "payer_info": {}, "cart_info": {}}));
    }
}

fn today() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::days(1)).unwrap()
}

async fn app_on(books: &Books) -> TestApp {
    let config = PaypalConfig {
        api_base: books.server.uri(),
        max_retries: 0,
        ..PaypalConfig::sandbox("client", Secret::new("secret"), "https://shop.example/ok", "https://shop.example/no")
    };
    let reader = Arc::new(PaypalGateway::new(PaypalClient::new(config).unwrap()));
    let payments = Arc::new(StandInPayments::paypal());
    let paypal = GatewayDescriptor::new(GatewayMode::Test, payments.clone()).refunds(payments).settlement(reader);
    let app = spawn_app_with_gateways(&[], vec![paypal]).await;
    app.put_course(1, "49.99", "USD").await;
    app
}

#[tokio::test]
async fn a_month_of_paypal_transactions_gives_exactly_the_expected_matches_and_a_second_run_books_nothing() {
    let books = Books::start().await;
    let app = app_on(&books).await;
    let (p1, order1) = paid_with(&app, "paypal").await;
    let (_, order2) = paid_with(&app, "paypal").await;
    let (_, order3) = paid_with(&app, "paypal").await;
    let (_, order4) = paid_with(&app, "paypal").await;
    let refund = refunded(&app, &p1, "10.00").await;
    let fees = app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();
    assert_eq!(fees.fees_recorded, 4, "{fees:?}");
    let returns = app.state.refunds.record_fee_returns(Duration::days(7), Duration::zero(), 10).await.unwrap();
    assert_eq!(returns.recorded, 1);

    books.transaction("CAP1", "T0006", 27, "49.99", Some("-2.24"), Some(&order1));
    books.transaction("REF1", "T1107", 22, "-10.00", Some("0.45"), Some("CAP1"));
    // The refund's line names PayPal's refund id, the one Skillpay stores.
    books.transactions.lock().unwrap().last_mut().unwrap()["transaction_info"]["transaction_id"] = json!(refund);
    books.transaction("CAP2", "T0006", 20, "49.99", Some("-2.24"), Some(&order2));
    // PayPal kept 2.54 of the third, not the 2.24 it reported.
    books.transaction("CAP3", "T0006", 16, "49.99", Some("-2.54"), Some(&order3));
    books.transaction("CAPX", "T0006", 12, "30.00", Some("-1.17"), Some("ORDERNEVERSEEN"));
    books.transaction("FEE1", "T0106", 9, "-2.00", None, None);
    books.transaction("W1", "T0400", 5, "-100.00", None, None);
    // The fourth sale never reaches PayPal's books.

    let since = today() - Duration::days(30);
    let outcomes =
        app.state.settlement.reconcile_days(SettledGateway::Paypal, since, today() + Duration::days(1)).await;
    let outcomes = outcomes.unwrap();
    assert_eq!(outcomes.len(), 31);
    assert!(outcomes.iter().all(|o| matches!(o, RunOutcome::Finished(_))), "{outcomes:?}");
    assert_eq!(journals(&app, "bank_payout").await, 1, "the withdrawal to the bank");
    assert_eq!(app.store.account_balance("platform_bank".into(), "USD".into(), false).await.unwrap(), 10_000);

    let open = DiscrepancyQuery { status: Some(DiscrepancyStatus::Open), limit: 100, ..DiscrepancyQuery::default() };
    let found = app.store.list_discrepancies(open.clone()).await.unwrap();
    let mut named: Vec<(String, &str)> = found.iter().map(|d| (d.object_id.clone(), d.result.as_str())).collect();
    named.sort();
    let mut expected = vec![
        (order3, "fee_differs"),
        (order4, "missing_at_gateway"),
        ("ORDERNEVERSEEN".to_owned(), "missing_in_ledger"),
        ("FEE1".to_owned(), "unexpected_type"),
    ];
    expected.sort();
    assert_eq!(named, expected, "{found:#?}");
    let matched = app.store.scalar("SELECT count(*) AS n FROM settlement_lines WHERE result = 'matched'").unwrap();
    assert_eq!(matched, 3, "two sales and the refund with the fee it gave back");
    let problem = app.store.verify_ledger().await.unwrap().first_discrepancy.unwrap();
    assert!(problem.starts_with("test: paypal clearing USD"), "{problem}");

    let before = (app.count("ledger_journals").await, app.count("settlement_lines").await);
    let again = app.state.settlement.reconcile_days(SettledGateway::Paypal, since, today() + Duration::days(1)).await;
    let again = again.unwrap();
    assert!(again[..30].iter().all(|o| matches!(o, RunOutcome::AlreadyDone(_))), "{again:?}");
    assert!(matches!(again[30], RunOutcome::Finished(_)), "today, not over, is read again");
    assert_eq!((app.count("ledger_journals").await, app.count("settlement_lines").await), before);

    for d in &found {
        let path = format!("/api/payments/admin/reconciliation/discrepancies/{}/resolve/", d.id);
        let res = app.post(&path, &app.admin(), &json!({"action": "accept", "reason": "as PayPal booked it"})).await;
        assert_eq!(res.status(), 200);
    }
    assert!(app.store.list_discrepancies(open).await.unwrap().is_empty());
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
}
