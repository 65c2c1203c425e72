//! Settlement reconciliation end to end: payments taken with Stripe's ids
//! (a stand-in payment gateway), Stripe's books read by the real Stripe
//! reader over HTTP from a Stripe-shaped stand-in serving a month of
//! balance transactions and payouts (paginated with `starting_after`),
//! compared with the ledger in a real PostgreSQL. The console's suite
//! (`console_reconciliation`) reads the same month.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use adapters_stripe::{StripeConfig, StripeGateway, StripeWebhookVerifier};
use async_trait::async_trait;
use chrono::{DateTime, Duration, DurationRound, Utc};
use domain::dispute::DisputeStatus;
use domain::gateway_config::GatewayMode;
use domain::money::{Currency, Money};
use domain::payment::{Payment, PaymentMethod};
use domain::payout::{Payout, PayoutDestination, PayoutMethod};
use domain::ports::{
    DiscrepancyQuery, DisputeEvidence, DisputeGateway, GatewayDescriptor, GatewayDispute, GatewayError, GatewayOutcome,
    GatewayPayout, GatewayPayoutState, GatewayRefund, GatewayRefundRecord, GatewayRefundState, GatewaySession,
    NextAction, PaymentGateway, PayoutGateway, ReconciliationStore, RefundGateway,
};
use domain::reconciliation::{DiscrepancyStatus, SettledGateway};
use domain::usecases::Role;
use domain::usecases::reconciliation::SweepPolicy;
use domain::usecases::settlement::RunOutcome;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with_gateways};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Takes payments with the gateway's kind of ids and keeps a fixed fee of
/// each, giving a fixed part back with a refund; its disputes stand as the
/// test sets them.
pub(crate) struct StandInPayments {
    method: PaymentMethod,
    /// Prefixes of payment and refund ids (`pi_`, `re_`; `ORDER`, `REF`).
    prefixes: (&'static str, &'static str),
    /// What it keeps of a charge, and gives back with a refund.
    fees: (i64, i64),
    disputes: Mutex<HashMap<String, GatewayDispute>>,
}

impl StandInPayments {
    /// Stripe's ids; keeps 1.75, gives nothing back.
    pub(crate) fn stripe() -> Self {
        Self::new(PaymentMethod::Stripe, ("pi_", "re_"), (FEE, 0))
    }

    /// PayPal's ids; keeps 2.24, gives 0.45 back.
    pub(crate) fn paypal() -> Self {
        Self::new(PaymentMethod::Paypal, ("ORDER", "REF"), (224, 45))
    }

    fn new(method: PaymentMethod, prefixes: (&'static str, &'static str), fees: (i64, i64)) -> Self {
        Self { method, prefixes, fees, disputes: Mutex::default() }
    }

    fn id(&self, prefix: &str, of: &str) -> String {
        let id = format!("{prefix}{}", of.chars().filter(char::is_ascii_alphanumeric).collect::<String>());
        if prefix.ends_with('_') { id } else { id.to_uppercase() }
    }

    fn dispute_is(&self, id: &str, intent: &str, status: DisputeStatus) {
        let dispute = GatewayDispute {
            provider_payment_id: intent.to_owned(),
            amount: Money::from_minor(4999, Currency::USD),
            reason: "fraudulent".to_owned(),
            status,
            evidence_due_by: None,
        };
        self.disputes.lock().unwrap().insert(id.to_owned(), dispute);
    }
}

const FEE: i64 = 175;
const WEBHOOK_SECRET: &str = "whsec_books";

#[async_trait]
impl PaymentGateway for StandInPayments {
    fn method(&self) -> PaymentMethod {
        self.method
    }
    async fn create_session(&self, payment: &Payment) -> Result<GatewaySession, GatewayError> {
        Ok(GatewaySession {
            provider_payment_id: self.id(self.prefixes.0, &payment.id.uuid().simple().to_string()),
            next_action: NextAction::ConfirmWithToken {
                provider: self.method,
                tokens: vec!["ok"],
                authenticate: false,
            },
        })
    }
    async fn confirm(&self, _: &str, _: &str) -> Result<GatewayOutcome, GatewayError> {
        Ok(GatewayOutcome::Succeeded)
    }
    async fn cancel(&self, _: &str) -> Result<(), GatewayError> {
        Ok(())
    }
    async fn status(&self, _: &str) -> Result<GatewayOutcome, GatewayError> {
        Ok(GatewayOutcome::Succeeded)
    }
    async fn charge_facts(&self, payment: &Payment) -> Result<Option<domain::ports::ChargeFacts>, GatewayError> {
        let fee = Money::from_minor(self.fees.0, payment.amount.currency());
        Ok(Some(domain::ports::ChargeFacts { fee, risk: Default::default() }))
    }
}

#[async_trait]
impl RefundGateway for StandInPayments {
    async fn refund(&self, _: &str, _: Money, idempotency_key: &str) -> Result<GatewayRefund, GatewayError> {
        Ok(GatewayRefund {
            provider_refund_id: self.id(self.prefixes.1, idempotency_key),
            state: GatewayRefundState::Succeeded,
        })
    }
    async fn refund_status(&self, _: &str) -> Result<GatewayRefundState, GatewayError> {
        Ok(GatewayRefundState::Succeeded)
    }
    async fn refunds_of(&self, _: &str) -> Result<Vec<GatewayRefundRecord>, GatewayError> {
        Ok(Vec::new())
    }
    async fn payment_of_refund(&self, _: &str) -> Result<String, GatewayError> {
        Err(GatewayError::UnknownPayment)
    }
    async fn fee_returned(&self, _: &str, currency: Currency) -> Result<Option<Money>, GatewayError> {
        Ok(Some(Money::from_minor(self.fees.1, currency)))
    }
}

#[async_trait]
impl DisputeGateway for StandInPayments {
    async fn dispute(&self, id: &str) -> Result<GatewayDispute, GatewayError> {
        self.disputes.lock().unwrap().get(id).cloned().ok_or(GatewayError::UnknownPayment)
    }
    async fn submit_dispute_evidence(&self, _: &str, _: &DisputeEvidence) -> Result<GatewayDispute, GatewayError> {
        Err(GatewayError::UnknownPayment)
    }
    async fn accept_dispute(&self, _: &str) -> Result<GatewayDispute, GatewayError> {
        Err(GatewayError::UnknownPayment)
    }
}

/// Sends payouts as Stripe Connect transfers (`tr_…` named after the
/// payout); a transfer the test reverses reads as failed.
#[derive(Default)]
pub(crate) struct StripeTransfers {
    reversed: Mutex<Vec<String>>,
}

#[async_trait]
impl PayoutGateway for StripeTransfers {
    fn method(&self) -> PayoutMethod {
        PayoutMethod::StripeConnect
    }
    async fn send(&self, payout: &Payout, _: &PayoutDestination) -> Result<GatewayPayout, GatewayError> {
        let transfer = format!("tr_{}", payout.id.uuid().simple());
        Ok(GatewayPayout { provider_payout_id: transfer, state: GatewayPayoutState::Paid })
    }
    async fn payout_status(&self, transfer: &str) -> Result<GatewayPayoutState, GatewayError> {
        Ok(if self.reversed.lock().unwrap().iter().any(|t| t == transfer) {
            GatewayPayoutState::Failed { reason: "the transfer was reversed".to_owned() }
        } else {
            GatewayPayoutState::Paid
        })
    }
}

/// Stripe's list semantics over some items: the `created[gte]`,
/// `created[lt]` and `payout` filters, newest first, pages of at most two
/// (so every read crosses pages) continued with `starting_after`.
#[derive(Clone)]
struct StripeList(Arc<Mutex<Vec<Value>>>);

impl Respond for StripeList {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let bound = |name: &str| query.get(name).and_then(|v| v.parse::<i64>().ok());
        let (gte, lt) = (bound("created[gte]"), bound("created[lt]"));
        let mut items: Vec<Value> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|item| {
                let created = item["created"].as_i64().unwrap();
                gte.is_none_or(|g| created >= g)
                    && lt.is_none_or(|l| created < l)
                    && query.get("payout").is_none_or(|p| item["_payout"].as_str() == Some(p))
            })
            .cloned()
            .collect();
        items.sort_by(|a, b| {
            b["created"].as_i64().cmp(&a["created"].as_i64()).then(b["id"].as_str().cmp(&a["id"].as_str()))
        });
        let start = query
            .get("starting_after")
            .and_then(|after| items.iter().position(|i| i["id"].as_str() == Some(after)).map(|at| at + 1))
            .unwrap_or(0);
        let page: Vec<Value> = items.iter().skip(start).take(2).cloned().collect();
        let has_more = start + page.len() < items.len();
        ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": page, "has_more": has_more}))
    }
}

/// One payout by its id.
struct OnePayout(Arc<Mutex<Vec<Value>>>);

impl Respond for OnePayout {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request.url.path().rsplit('/').next().unwrap_or_default().to_owned();
        match self.0.lock().unwrap().iter().find(|p| p["id"].as_str() == Some(&id)) {
            Some(payout) => ResponseTemplate::new(200).set_body_json(payout),
            None => ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"type": "invalid_request_error", "code": "resource_missing"}})),
        }
    }
}

/// Stripe's books as a stand-in serves them.
pub(crate) struct Books {
    server: MockServer,
    lines: Arc<Mutex<Vec<Value>>>,
    payouts: Arc<Mutex<Vec<Value>>>,
}

impl Books {
    pub(crate) async fn start() -> Books {
        let server = MockServer::start().await;
        let (lines, payouts) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
        Mock::given(method("GET"))
            .and(path("/v1/balance_transactions"))
            .respond_with(StripeList(lines.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/payouts"))
            .respond_with(StripeList(payouts.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex("^/v1/payouts/po_[a-z0-9_]+$"))
            .respond_with(OnePayout(payouts.clone()))
            .mount(&server)
            .await;
        Books { server, lines, payouts }
    }

    /// A balance transaction booked `days_ago` (at noon UTC).
    fn line(&self, id: &str, kind: &str, amounts: (i64, i64), days_ago: i64, source: Value, payout: Option<&str>) {
        let (amount, fee) = amounts;
        self.lines.lock().unwrap().push(json!({
            "id": id, "object": "balance_transaction", "amount": amount, "fee": fee, "net": amount - fee,
            "currency": "usd", "type": kind, "created": noon(days_ago), "source": source, "_payout": payout,
        }));
    }

    /// An automatic payout made `days_ago`, every line of it tied to it:
    /// its own line takes out what the others put in.
    fn payout(&self, id: &str, days_ago: i64, contents: &[&str]) {
        let mut lines = self.lines.lock().unwrap();
        let mut net = 0;
        for line in lines.iter_mut().filter(|l| contents.contains(&l["id"].as_str().unwrap())) {
            line["_payout"] = json!(id);
            net += line["net"].as_i64().unwrap();
        }
        lines.push(json!({
            "id": format!("txn_{id}"), "object": "balance_transaction", "amount": -net, "fee": 0, "net": -net,
            "currency": "usd", "type": "payout", "created": noon(days_ago),
            "source": {"id": id, "object": "payout"}, "_payout": id,
        }));
        self.payouts.lock().unwrap().push(json!({
            "id": id, "object": "payout", "amount": net, "currency": "usd", "status": "paid",
            "created": noon(days_ago), "arrival_date": noon(days_ago - 2), "automatic": true,
            "reconciliation_status": "completed",
        }));
    }
}

pub(crate) fn today() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::days(1)).unwrap()
}

fn noon(days_ago: i64) -> i64 {
    (today() - Duration::days(days_ago) + Duration::hours(12)).timestamp()
}

fn charge(n: &str, intent: &str) -> Value {
    json!({"id": format!("ch_{n}"), "object": "charge", "payment_intent": intent})
}

/// An app whose Stripe takes payments through [`StandInPayments`] and whose
/// books are read from `books`.
pub(crate) async fn app_on(books: &Books) -> (TestApp, Arc<StandInPayments>, Arc<StripeTransfers>) {
    let reader = StripeConfig { api_base: books.server.uri(), ..StripeConfig::new("sk_test_books".to_owned()) };
    let reader = Arc::new(StripeGateway::new(reader).unwrap());
    let payments = Arc::new(StandInPayments::stripe());
    let transfers = Arc::new(StripeTransfers::default());
    let stripe = GatewayDescriptor::new(GatewayMode::Test, payments.clone())
        .refunds(payments.clone())
        .disputes(payments.clone())
        .payouts(transfers.clone())
        .webhooks(Arc::new(StripeWebhookVerifier::new(vec![WEBHOOK_SECRET.to_owned()])))
        .settlement(reader);
    let settings = [
        ("SKILLPAY_DISPUTE_FEE", "USD:15.00"),
        ("SKILLPAY_ENCRYPTION_KEY", ENCRYPTION_KEY),
        ("SKILLPAY_PAYOUT_HOLD_DAYS", "0"),
    ];
    let app = spawn_app_with_gateways(&settings, vec![stripe]).await;
    app.put_course(1, "49.99", "USD").await;
    (app, payments, transfers)
}

const ENCRYPTION_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// A paid Stripe Connect payout of `amount` to instructor 100; its transfer.
async fn transferred(app: &TestApp, amount: &str) -> String {
    let body = json!({"amount": amount, "currency": "USD", "method": "stripe_connect",
        "destination": {"account_id": "acct_1Teacher"}});
    let asked: Value =
        app.post("/api/payments/payouts/", &app.token(100, Role::Instructor), &body).await.json().await.unwrap();
    let path = format!("/api/payments/payouts/{}/approve/", asked["id"].as_str().unwrap());
    let paid: Value = app.post(&path, &app.admin(), &json!({})).await.json().await.unwrap();
    assert_eq!(paid["status"], "paid", "{paid}");
    paid["transaction_id"].as_str().unwrap().to_owned()
}

/// A completed 49.99 Stripe payment: (its id, its PaymentIntent).
async fn paid(app: &TestApp) -> (String, String) {
    paid_with(app, "stripe").await
}

/// A completed 49.99 payment by `method` of a buyer of their own (a buyer
/// holds a course once): (its id, its gateway id).
pub(crate) async fn paid_with(app: &TestApp, method: &str) -> (String, String) {
    let student = app.token(app.fresh_id(), Role::Student);
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": method}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let done: Value = app
        .post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "ok"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    (id, done["provider_payment_id"].as_str().unwrap().to_owned())
}

/// A dispute of the whole payment at Stripe, followed until `outcome`
/// as Stripe's webhooks would have it.
async fn disputed(app: &TestApp, stripe: &StandInPayments, id: &str, intent: &str, outcome: DisputeStatus) {
    for status in [DisputeStatus::NeedsResponse, outcome] {
        stripe.dispute_is(id, intent, status);
        let synced = app.state.disputes.sync(PaymentMethod::Stripe, id).await.unwrap().unwrap();
        assert_eq!(synced.status, status);
    }
}

pub(crate) async fn refunded(app: &TestApp, payment: &str, amount: &str) -> String {
    let paid: Value = app.get(&format!("/api/payments/{payment}/"), &app.admin()).await.json().await.unwrap();
    let student = app.token(paid["user_id"].as_i64().unwrap(), Role::Student);
    let asked: Value = app
        .post("/api/payments/refunds/", &student, &json!({"payment_id": payment, "amount": amount, "reason": "part"}))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/payments/refunds/{}/approve/", asked["id"].as_str().unwrap());
    let approved: Value = app.post(&path, &app.admin(), &json!({})).await.json().await.unwrap();
    assert_eq!(approved["status"], "processed", "{approved}");
    approved["provider_refund_id"].as_str().unwrap().to_owned()
}

pub(crate) async fn journals(app: &TestApp, kind: &str) -> i64 {
    app.store.scalar(&format!("SELECT count(*) AS n FROM ledger_journals WHERE kind = '{kind}'")).unwrap()
}

/// The month the stand-in serves, around the payments `app` took.
pub(crate) struct Month {
    pub(crate) sale_fee_differs: String,
    pub(crate) never_at_gateway: String,
    pub(crate) transfer_reversed: String,
}

pub(crate) async fn a_month_of_stripe(
    app: &TestApp,
    stripe: &StandInPayments,
    transfers: &StripeTransfers,
    books: &Books,
) -> Month {
    let (p1, pi1) = paid(app).await;
    let (_, pi2) = paid(app).await;
    let (_, pi3) = paid(app).await;
    let (_, pi4) = paid(app).await;
    let (_, pi5) = paid(app).await;
    let refund = refunded(app, &p1, "10.00").await;
    let (lost, won) = ("dp_lost", "dp_won");
    disputed(app, stripe, lost, &pi2, DisputeStatus::Lost).await;
    disputed(app, stripe, won, &pi4, DisputeStatus::Won).await;
    let fees = app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();
    assert_eq!(fees.fees_recorded, 5, "{fees:?}");
    // The instructor is paid twice from the Stripe balance; the first
    // transfer is reversed.
    assert_eq!(app.state.payouts.release_due_earnings(10).await.unwrap(), 5);
    let kept = transferred(app, "20.00").await;
    let reversed = transferred(app, "30.00").await;
    transfers.reversed.lock().unwrap().push(reversed.clone());
    app.state.payouts.sync_by_transaction_id(PayoutMethod::StripeConnect, &reversed).await.unwrap();

    books.line("txn_c1", "charge", (4999, FEE), 28, charge("1", &pi1), None);
    books.line(
        "txn_r1",
        "refund",
        (-1000, 0),
        26,
        json!({"id": refund, "object": "refund", "payment_intent": pi1}),
        None,
    );
    books.line("txn_c2", "charge", (4999, FEE), 25, charge("2", &pi2), None);
    books.payout("po_1", 24, &["txn_c1", "txn_r1", "txn_c2"]);
    // Stripe kept 1.80, not the 1.75 it reported for the charge.
    books.line("txn_c3", "charge", (4999, 180), 20, charge("3", &pi3), None);
    books.line(
        "txn_d2",
        "adjustment",
        (-4999, 1500),
        18,
        json!({"id": lost, "object": "dispute", "payment_intent": pi2}),
        None,
    );
    books.line("txn_c4", "charge", (4999, FEE), 15, charge("4", &pi4), None);
    books.line(
        "txn_d4",
        "adjustment",
        (-4999, 1500),
        14,
        json!({"id": won, "object": "dispute", "payment_intent": pi4}),
        None,
    );
    books.line(
        "txn_d4w",
        "adjustment",
        (4999, -1500),
        6,
        json!({"id": won, "object": "dispute", "payment_intent": pi4}),
        None,
    );
    // A payment Skillpay never saw, and a fee about nothing it made.
    books.line("txn_x", "charge", (3000, 117), 10, charge("x", "pi_never_seen"), None);
    books.line("txn_f", "stripe_fee", (-200, 0), 9, Value::Null, None);
    books.line("txn_t1", "transfer", (-2000, 0), 8, json!({"id": kept, "object": "transfer"}), None);
    books.line("txn_t2", "transfer", (-3000, 0), 8, json!({"id": reversed, "object": "transfer"}), None);
    let reversal = json!({"id": "trr_1", "object": "transfer_reversal", "transfer": reversed});
    books.line("txn_t2r", "transfer_refund", (3000, 0), 7, reversal, None);
    books.payout(
        "po_2",
        5,
        &["txn_c3", "txn_d2", "txn_c4", "txn_d4", "txn_d4w", "txn_x", "txn_f", "txn_t1", "txn_t2", "txn_t2r"],
    );
    // The fifth sale never reaches Stripe's books.
    Month { sale_fee_differs: pi3, never_at_gateway: pi5, transfer_reversed: reversed }
}

#[tokio::test]
async fn a_month_of_stripe_lines_gives_exactly_the_expected_matches_and_a_second_run_books_nothing() {
    let books = Books::start().await;
    let (app, stripe, transfers) = app_on(&books).await;
    let month = a_month_of_stripe(&app, &stripe, &transfers, &books).await;
    let since = today() - Duration::days(30);
    let until = today() + Duration::days(1);

    let outcomes = app.state.settlement.reconcile_days(SettledGateway::Stripe, since, until).await.unwrap();
    assert_eq!(outcomes.len(), 31);
    assert!(outcomes.iter().all(|o| matches!(o, RunOutcome::Finished(_))), "{outcomes:?}");
    assert_eq!(journals(&app, "bank_payout").await, 2, "one journal per payout to the bank");
    let bank = app.store.account_balance("platform_bank".into(), "USD".into(), false).await.unwrap();
    assert_eq!(bank, (4999 - FEE) - 1000 + (4999 - FEE) + (4999 - 180) - 6499 + (4999 - FEE) + 3000 - 117 - 200 - 2000);

    let open = |status| DiscrepancyQuery { status: Some(status), limit: 100, ..DiscrepancyQuery::default() };
    let found = app.store.list_discrepancies(open(DiscrepancyStatus::Open)).await.unwrap();
    let mut named: Vec<(String, &str)> = found.iter().map(|d| (d.object_id.clone(), d.result.as_str())).collect();
    named.sort();
    let mut expected = vec![
        (month.sale_fee_differs.clone(), "fee_differs"),
        (month.never_at_gateway.clone(), "missing_at_gateway"),
        ("pi_never_seen".to_owned(), "missing_in_ledger"),
        ("txn_f".to_owned(), "unexpected_type"),
    ];
    expected.sort();
    assert_eq!(named, expected);
    let fee = found.iter().find(|d| d.object_id == month.sale_fee_differs).unwrap();
    assert_eq!(fee.difference().unwrap(), Money::from_minor(-5, Currency::USD));
    let events =
        app.store.scalar("SELECT count(*) AS n FROM outbox_events WHERE event_type = 'reconciliation.discrepancy'");
    // Read a month late, the won dispute's debit (day 14) and the reversed
    // transfer (day 8) differed from a ledger that knew how they ended,
    // until their reversals (days 6 and 7) were read: those discrepancies
    // opened, were announced, and cleared themselves.
    assert_eq!(events.unwrap(), 6, "one event per discrepancy opened");
    let cleared = app.store.list_discrepancies(open(DiscrepancyStatus::Cleared)).await.unwrap();
    let mut cleared: Vec<&str> = cleared.iter().map(|d| d.object_id.as_str()).collect();
    cleared.sort_unstable();
    assert_eq!(cleared, ["dp_won", month.transfer_reversed.as_str()]);
    let matched = app.store.scalar("SELECT count(*) AS n FROM settlement_lines WHERE result = 'matched'").unwrap();
    // Three sales (the first with its refund), the lost dispute, the won
    // dispute's debit and reversal, the kept transfer, and the reversed
    // transfer with its reversal.
    assert_eq!(matched, 10);

    let problem = app.store.verify_ledger().await.unwrap().first_discrepancy.unwrap();
    assert!(problem.starts_with("test: stripe clearing USD"), "{problem}");

    // Nothing is booked twice, whoever asks again.
    let before = (app.count("ledger_journals").await, app.count("settlement_lines").await);
    // (Today, not over when it was read, is read again.)
    let again = app.state.settlement.reconcile_days(SettledGateway::Stripe, since, until).await.unwrap();
    let (past, today_again) = again.split_at(30);
    assert!(past.iter().all(|o| matches!(o, RunOutcome::AlreadyDone(_))), "{again:?}");
    assert!(matches!(today_again, [RunOutcome::Finished(run)] if run.attempts == 2), "{today_again:?}");
    assert_eq!((app.count("ledger_journals").await, app.count("settlement_lines").await), before);
    assert_eq!(app.count("settlement_discrepancies").await, 6);

    // The admin API shows what was found: payouts with their lines
    // summed, lines by payout and result, the open discrepancies.
    let admin = app.admin();
    let payouts: Value = app.get("/api/payments/admin/reconciliation/payouts/", &admin).await.json().await.unwrap();
    let first = payouts["data"].as_array().unwrap().iter().find(|p| p["id"] == "po_1").unwrap();
    assert_eq!(
        (first["amount"].as_str(), first["matched"].as_i64(), first["differing"].as_i64()),
        (Some("86.48"), Some(3), Some(0))
    );
    let lines: Value = app
        .get("/api/payments/admin/reconciliation/lines/?payout=po_2&result=fee_differs", &admin)
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = lines["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["txn_c3"]);
    let mut pages = 0;
    let mut cursor = String::new();
    let mut seen = 0;
    loop {
        let page: Value = app
            .get(&format!("/api/payments/admin/reconciliation/lines/?limit=6{cursor}"), &admin)
            .await
            .json()
            .await
            .unwrap();
        pages += 1;
        seen += page["data"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!((seen, pages), (15, 3), "every line once (two of them payouts), page after page");
    let open_list: Value =
        app.get("/api/payments/admin/reconciliation/discrepancies/?status=open", &admin).await.json().await.unwrap();
    assert_eq!(open_list["data"].as_array().unwrap().len(), 4);

    // An admin resolves each: the ledger then agrees with Stripe's books.
    for d in &found {
        let path = format!("/api/payments/admin/reconciliation/discrepancies/{}/resolve/", d.id);
        let res = app.post(&path, &app.token(1000, Role::Student), &json!({"action": "accept", "reason": "x"})).await;
        assert_eq!(res.status(), 403);
        let res = app.post(&path, &admin, &json!({"action": "accept", "reason": " "})).await;
        assert_eq!(res.status(), 422, "a reason is required");
        let action = if d.object_id == month.never_at_gateway { "explain" } else { "accept" };
        let res =
            app.post(&path, &admin, &json!({"action": action, "reason": "checked against the Stripe dashboard"})).await;
        assert_eq!(res.status(), 200);
        let resolved: Value = res.json().await.unwrap();
        assert_eq!(resolved["status"], if action == "accept" { "adjusted" } else { "explained" });
        let res = app.post(&path, &admin, &json!({"action": "explain", "reason": "again"})).await;
        assert_eq!(res.status(), 409, "resolved once");
    }
    assert_eq!(journals(&app, "settlement_adjustment").await, 3);
    assert_eq!(app.store.verify_ledger().await.unwrap().first_discrepancy, None);
    let audited = app
        .store
        .scalar("SELECT count(*) AS n FROM audit_log WHERE object_kind = 'settlement_discrepancy' AND actor_id = 1");
    assert_eq!(audited.unwrap(), 4);
}

#[tokio::test]
async fn a_run_stopped_half_way_resumes_where_it_stopped_and_two_at_once_never_both_run() {
    let books = Books::start().await;
    let (app, _, _) = app_on(&books).await;
    let (_, intent) = paid(&app).await;
    app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();
    books.line("txn_c1", "charge", (4999, FEE), 1, charge("1", &intent), None);
    books.payout("po_1", 1, &["txn_c1"]);
    // Stripe refuses the payout list once: the run stops after storing
    // the day's lines.
    Mock::given(method("GET"))
        .and(path("/v1/payouts"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"type": "invalid_request_error"}})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&books.server)
        .await;
    let day = domain::ports::SettlementPeriod::new(today() - Duration::days(1), today()).unwrap();
    let stopped = app.state.settlement.run(SettledGateway::Stripe, day).await;
    assert!(stopped.is_err());
    let runs = app.store.list_runs(None, None, 10).await.unwrap();
    assert_eq!((runs.len(), runs[0].step.as_str(), runs[0].lines_read), (1, "payouts", 2));
    assert!(runs[0].last_error.is_some());
    let read_lines = books
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v1/balance_transactions")
        .count();

    // Two instances resume it at once: one runs it, the other finds it
    // held (or done), and nothing is booked twice.
    let (a, b) = tokio::join!(
        app.state.settlement.run(SettledGateway::Stripe, day),
        app.state.settlement.run(SettledGateway::Stripe, day)
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| matches!(o, RunOutcome::Finished(_))).count(), 1, "{outcomes:?}");
    let finished = outcomes.iter().find(|o| matches!(o, RunOutcome::Finished(_))).unwrap().run();
    assert_eq!((finished.id, finished.attempts, finished.lines_read), (runs[0].id, 2, 2));
    assert_eq!(finished.matched, 1);
    let period_reads = books
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v1/balance_transactions" && r.url.query().is_some_and(|q| q.contains("created")))
        .count();
    assert_eq!(period_reads, read_lines, "the day's lines were not read again");
    assert_eq!(journals(&app, "bank_payout").await, 1);
    assert_eq!(app.count("settlement_lines").await, 2);
    let done = app.state.settlement.run(SettledGateway::Stripe, day).await.unwrap();
    assert!(matches!(done, RunOutcome::AlreadyDone(_)), "a day over and reconciled is not read again: {done:?}");
}

#[tokio::test]
async fn the_platform_s_payout_events_record_the_payout_and_a_connected_account_s_are_left_alone() {
    let books = Books::start().await;
    let (app, _, _) = app_on(&books).await;
    let (_, intent) = paid(&app).await;
    app.state.payments.sweep_open_payments(SweepPolicy::default()).await.unwrap();
    books.line("txn_c1", "charge", (4999, FEE), 1, charge("1", &intent), None);
    books.payout("po_evt", 1, &["txn_c1"]);
    let paid_out = |id: &str, account: Option<&str>| {
        let mut event = json!({"id": format!("evt_{id}"), "object": "event", "type": "payout.paid",
            "data": {"object": {"id": id, "object": "payout"}}});
        if let Some(account) = account {
            event["account"] = json!(account);
        }
        event
    };
    assert_eq!(app.deliver_stripe_event(&paid_out("po_evt", None), WEBHOOK_SECRET).await, 200);
    let recorded = app.store.scalar(
        "SELECT count(*) AS n FROM settlement_payouts WHERE payout_id = 'po_evt' AND status = 'paid' AND NOT itemised",
    );
    assert_eq!(recorded.unwrap(), 1, "recorded, to be itemised by the day's run");
    // A connected account paying itself out is not the platform's money:
    // acknowledged, nothing read, nothing recorded.
    assert_eq!(app.deliver_stripe_event(&paid_out("po_theirs", Some("acct_1PgafT")), WEBHOOK_SECRET).await, 200);
    assert_eq!(app.store.scalar("SELECT count(*) AS n FROM settlement_payouts").unwrap(), 1);

    let day = domain::ports::SettlementPeriod::new(today() - Duration::days(1), today()).unwrap();
    let outcome = app.state.settlement.run(SettledGateway::Stripe, day).await.unwrap();
    assert_eq!(outcome.run().matched, 1);
    let itemised = app.store.scalar("SELECT count(*) AS n FROM settlement_lines WHERE bank_payout = 'po_evt'");
    assert_eq!(itemised.unwrap(), 2, "the charge and the payout's own line");
}

#[tokio::test]
async fn a_run_whose_instance_died_holding_it_is_taken_over_once_its_lease_runs_out() {
    let books = Books::start().await;
    let (app, _, _) = app_on(&books).await;
    let day = domain::ports::SettlementPeriod::new(today() - Duration::days(1), today()).unwrap();
    // Another instance starts the day and holds it for ten minutes.
    let run = domain::reconciliation::SettlementRun {
        id: domain::ids::SettlementRunId::from_uuid(uuid::Uuid::now_v7()),
        gateway: SettledGateway::Stripe,
        livemode: false,
        period: day,
        step: domain::reconciliation::RunStep::Reading,
        attempts: 0,
        lines_read: 0,
        matched: 0,
        differing: 0,
        last_error: None,
        started_at: Utc::now(),
        finished_at: None,
    };
    let claim = app.store.claim_run(run, Utc::now() + Duration::minutes(10)).await.unwrap();
    assert!(matches!(claim, domain::ports::RunClaim::Claimed(_)));
    let busy = app.state.settlement.run(SettledGateway::Stripe, day).await.unwrap();
    assert!(matches!(busy, RunOutcome::Busy(_)), "{busy:?}");
    // It dies holding it; ten minutes later its lease has run out.
    app.store
        .scalar("UPDATE settlement_runs SET leased_until = now() - interval '1 second' RETURNING 0::bigint AS n")
        .unwrap();
    let taken = app.state.settlement.run(SettledGateway::Stripe, day).await.unwrap();
    assert!(matches!(&taken, RunOutcome::Finished(run) if run.attempts == 2), "{taken:?}");
}
