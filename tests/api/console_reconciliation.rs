//! The console's reconciliation page over the month of Stripe's books the
//! settlement suite serves (read by the real Stripe reader, compared in a
//! real PostgreSQL): payouts with their lines summed, a payout's lines
//! linking to their payments, a period's lines as CSV, and discrepancies
//! resolved from their form as the signed-in admin, audited. The browser
//! suite sees the page empty (its demo data has no gateway books).

use chrono::Duration;
use domain::ports::{DiscrepancyQuery, ReconciliationStore};
use domain::reconciliation::{DiscrepancyStatus, SettledGateway};
use domain::usecases::Role;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use skillpay_e2e::TestApp;

use crate::settlement::{Books, a_month_of_stripe, app_on, today};

/// A browser of the console: its session cookie, never following
/// redirects (the tests read them).
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: String,
}

impl<'a> Browser<'a> {
    /// Signs in with a platform token through the sign-in form.
    async fn signed_in(app: &'a TestApp, token: &str) -> Browser<'a> {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let res = client
            .post(format!("{}/admin/sign-in", app.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let session = res.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
        Browser { app, client, cookies: session }
    }

    /// The same session showing `mode`'s money.
    fn in_mode(&self, mode: &str) -> Browser<'a> {
        let cookies = format!("{}; skillpay_console_mode={mode}", self.cookies);
        Browser { app: self.app, client: self.client.clone(), cookies }
    }

    async fn get(&self, path: &str) -> (StatusCode, String, String) {
        let res =
            self.client.get(format!("{}{path}", self.app.base)).header(COOKIE, &self.cookies).send().await.unwrap();
        let kind = res.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (res.status(), kind, res.text().await.unwrap())
    }

    /// POSTs a form body (already encoded).
    async fn post(&self, path: &str, body: String) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.app.base))
            .header(COOKIE, &self.cookies)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

/// The session's CSRF token, as every form on a page carries it.
fn csrf(html: &str) -> String {
    let field = "name=\"csrf\" value=\"";
    let at = html.find(field).unwrap() + field.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// The row of the table whose `attribute` is `value`.
fn row<'h>(html: &'h str, attribute: &str, value: &str) -> &'h str {
    let start = html.find(&format!("{attribute}=\"{value}\"")).unwrap_or_else(|| panic!("no {attribute} {value}"));
    let end = html[start..].find("</tr>").unwrap();
    &html[start..start + end]
}

#[tokio::test]
async fn the_console_shows_a_month_of_stripe_s_books_and_resolves_its_discrepancies() {
    let books = Books::start().await;
    let (app, stripe, transfers) = app_on(&books).await;
    let month = a_month_of_stripe(&app, &stripe, &transfers, &books).await;
    let (since, until) = (today() - Duration::days(30), today() + Duration::days(1));
    app.state.settlement.reconcile_days(SettledGateway::Stripe, since, until).await.unwrap();
    let admin = Browser::signed_in(&app, &app.admin()).await;

    // Payouts, each summed into columns that add up to what it sent.
    let (status, _, page) = admin.get("/admin/reconciliation").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/admin/reconciliation\" class=\"here\""), "in the navigation");
    let first = row(&page, "data-bank-payout", "po_1");
    for figure in ["86.48", "99.98", "-10.00", "-3.50", "stripe", "test", "paid"] {
        assert!(first.contains(figure), "{figure} in {first}");
    }
    let second = row(&page, "data-bank-payout", "po_2");
    // Charges 49.99 + 49.99 + 30.00; a lost and a won dispute; the fees
    // kept on every line and a 2.00 fee line; two transfers, one of them
    // reversed; the net paid out.
    for figure in ["129.98", "-49.99", "-21.72", "-20.00", "38.27"] {
        assert!(second.contains(figure), "{figure} in {second}");
    }
    assert!(page.find("data-bank-payout=\"po_2\"") < page.find("data-bank-payout=\"po_1\""), "newest first");
    assert_eq!(page.matches("data-run=").count(), 31, "a run per day");
    let open = DiscrepancyQuery { status: Some(DiscrepancyStatus::Open), limit: 10, ..DiscrepancyQuery::default() };
    let found = app.store.list_discrepancies(open).await.unwrap();
    assert_eq!(found.len(), 4);
    let id = found.iter().find(|d| d.object_id == month.sale_fee_differs).unwrap().id.to_string();
    let fee = row(&page, "data-discrepancy", &id);
    assert!(fee.contains("fee_differs") && fee.contains("-0.05 USD"), "{fee}");
    assert!(
        fee.contains(&format!("href=\"/admin/payments?q={}\"", month.sale_fee_differs)),
        "a sale links to its payment"
    );
    assert!(page.contains("pi_never_seen") && page.contains("txn_f"));

    // A payout's lines, each linking to the payment it books.
    let (status, _, lines) = admin.get("/admin/reconciliation/lines?gateway=stripe&payout=po_2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lines.matches("data-line=").count(), 11, "ten lines and the payout's own");
    assert!(row(&lines, "data-line", "txn_c3").contains("fee_differs"));
    assert!(row(&lines, "data-line", "txn_f").contains("unexpected_type"));
    assert!(lines.contains("data-bank-payout=\"po_2\""), "the payout's summary above its lines");
    let search = format!("/admin/payments?q={}", month.sale_fee_differs);
    assert!(lines.contains(&format!("href=\"{search}\"")));
    let (status, _, payments) = admin.get(&search).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(payments.matches("href=\"/admin/payments/pay_").count(), 1, "the link finds the one payment");

    // The period's lines as CSV for accountants: every line, amounts as numbers.
    let period = format!("since={}&until={}", since.date_naive(), today().date_naive());
    let (status, kind, csv) = admin.get(&format!("/admin/reconciliation/lines?{period}&format=csv")).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"));
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("gateway,mode,line_id,booked_at,kind,currency,amount,fee,net,"), "{}", rows[0]);
    assert_eq!(rows.len(), 1 + 15, "{csv}");
    let fee_line = rows.iter().find(|r| r.contains(",txn_f,")).unwrap();
    assert!(
        fee_line.starts_with("stripe,test,txn_f,") && fee_line.contains(",fee,USD,-2.00,0.00,-2.00,"),
        "{fee_line}"
    );
    let (_, _, late) =
        admin.get(&format!("/admin/reconciliation/lines?since={}&format=csv", today().date_naive())).await;
    assert_eq!(late.lines().count(), 1, "nothing booked today: {late}");

    // Resolving: the session's token, a reason, then once only.
    let path = format!("/admin/reconciliation/discrepancies/{id}/resolve");
    let token = csrf(&page);
    let forged = admin.post(&path, "csrf=forged&action=accept&reason=x".to_owned()).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let blank = admin.post(&path, format!("csrf={token}&action=accept&reason=+")).await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    let unknown = admin.post(&path, format!("csrf={token}&action=ignore&reason=x")).await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let student = app.token(1000, Role::Student);
    let instructor = Browser::signed_in(&app, &app.token(100, Role::Instructor)).await;
    assert_eq!(instructor.get("/admin/reconciliation").await.0, StatusCode::FORBIDDEN);
    let (_, _, own) = instructor.get("/admin/").await;
    let refused = instructor.post(&path, format!("csrf={}&action=accept&reason=x", csrf(&own))).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let api = app.get("/api/payments/admin/reconciliation/discrepancies/?status=open", &student).await;
    assert_eq!(api.status(), StatusCode::FORBIDDEN);

    let done = admin.post(&path, format!("csrf={token}&action=accept&reason=checked+against+Stripe")).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let back = done.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(back, format!("/admin/reconciliation?resolved={id}"));
    let (_, _, after) = admin.get(&back).await;
    let notice = &after[after.find("id=\"resolved\"").unwrap()..];
    assert!(notice.contains("adjusted") && notice.contains("adjusting journal"), "{notice}");
    assert!(!after.contains(&format!("data-discrepancy=\"{id}\"")), "no longer among the open ones");
    let stored = app.store.find_discrepancy(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.status, DiscrepancyStatus::Adjusted);
    assert_eq!(
        (stored.reason.as_deref(), stored.resolved_by.map(|u| u.get())),
        (Some("checked against Stripe"), Some(1))
    );
    assert!(stored.journal_id.is_some());
    let again = admin.post(&path, format!("csrf={token}&action=explain&reason=again")).await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "resolved once");
    let audit = app.state.console.audit_log(Some(id.clone()), None, 10).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|(_, e)| e.action.as_str()).collect();
    assert_eq!(actions, ["discrepancy.accept"]);
    assert_eq!(audit[0].1.after.as_ref().unwrap()["status"], "adjusted");

    let (_, _, resolved) = admin.get("/admin/reconciliation?status=adjusted").await;
    assert!(row(&resolved, "data-discrepancy", &id).contains("by admin 1"));
    assert!(row(&resolved, "data-discrepancy", &id).contains("checked against Stripe"));

    // Live money shows none of this test-mode month.
    let (status, _, live) = admin.in_mode("live").get("/admin/reconciliation?status=all").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!live.contains("data-bank-payout=") && !live.contains("data-discrepancy=") && !live.contains("data-run="));
    let (_, _, live_csv) = admin.in_mode("live").get(&format!("/admin/reconciliation/lines?{period}&format=csv")).await;
    assert_eq!(live_csv.lines().count(), 1);
}
