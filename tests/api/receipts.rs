//! Receipts and credit notes: numbered without gaps per series after the
//! commits that made them, shown as JSON, HTML and PDF to the buyer and
//! admins, and through signed links to readers without a token.

use std::io::Write;
use std::process::{Command, Stdio};

use domain::usecases::Role;
use futures::future::join_all;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app, spawn_app_for_races};

const BUYER: i64 = 1000;

/// A coupon purchase of course 1 (80.00 list, 20.00 off), paid.
async fn paid_with_coupon(app: &TestApp) -> String {
    app.put_course(1, "80.00", "USD").await;
    app.create_coupon(
        json!({"code": "SPRING", "discount_type": "fixed", "discount_value": "20.00", "currency": "USD"}),
    )
    .await;
    let student = app.token(BUYER, Role::Student);
    let body = json!({"course_id": 1, "payment_method": "sandbox", "coupon_code": "SPRING",
        "billing_name": "Ada Lovelace", "billing_email": "ada@example.com"});
    let res = app.post("/api/payments/", &student, &body).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let res =
        app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "sandbox_success"})).await;
    assert_eq!(res.status(), 200);
    id
}

async fn fetch(app: &TestApp, path: &str, token: Option<&str>, accept: &str) -> (u16, String, Vec<u8>) {
    let res = app.request(reqwest::Method::GET, path, token).header("accept", accept).send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, content_type, res.bytes().await.unwrap().to_vec())
}

/// The text `pdftotext` (Debian's poppler-utils) reads from `pdf`.
fn pdf_text(pdf: &[u8]) -> String {
    let mut child = Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("pdftotext (poppler-utils) is installed by `just setup-browser`");
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "pdftotext read the PDF");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn a_purchase_gets_a_numbered_receipt_as_json_html_and_pdf_and_a_refund_its_credit_note() {
    let app = spawn_app().await;
    let payment = paid_with_coupon(&app).await;
    let buyer = app.token(BUYER, Role::Student);
    let path = format!("/api/payments/{payment}/receipt/");

    let (status, _, body) = fetch(&app, &path, Some(&buyer), "application/json").await;
    assert_eq!(status, 200);
    let receipt: Value = serde_json::from_slice(&body).unwrap();
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(receipt["number"], format!("SK-TEST-{year}-000001"), "{receipt}");
    assert_eq!(
        (&receipt["list_price"], &receipt["discount"], &receipt["coupon_code"], &receipt["amount_paid"]),
        (&json!("80.00"), &json!("20.00"), &json!("SPRING"), &json!("60.00"))
    );
    assert_eq!(receipt["buyer"], json!({"user_id": BUYER, "name": "Ada Lovelace", "email": "ada@example.com"}));
    assert_eq!(receipt["item"], json!({"type": "course", "id": 1, "title": "Course 1"}));
    assert_eq!((receipt["kind"].as_str(), receipt["livemode"].as_bool()), (Some("receipt"), Some(false)));
    let issued = app.store.outbox_events_for(receipt["id"].as_str().unwrap().to_owned()).await.unwrap();
    assert_eq!(issued.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(), ["receipt.issued"]);
    assert_eq!(issued[0].payload["number"], receipt["number"]);

    let (status, content_type, html) = fetch(&app, &path, Some(&buyer), "text/html").await;
    assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"));
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains(&format!("Receipt SK-TEST-{year}-000001")) && html.contains("60.00"), "{html}");
    assert!(html.contains("TEST MODE"), "test money says so");
    let (_, _, german) = fetch(&app, &format!("{path}?locale=de"), Some(&buyer), "text/html").await;
    let german = String::from_utf8(german).unwrap();
    assert!(german.contains("Quittung") && german.contains("60,00"), "{german}");

    let (status, content_type, pdf) = fetch(&app, &path, Some(&buyer), "application/pdf").await;
    assert_eq!((status, content_type.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_text(&pdf);
    for expected in
        [format!("SK-TEST-{year}-000001"), "80.00".into(), "60.00".into(), "SPRING".into(), "Ada Lovelace".into()]
    {
        assert!(text.contains(&expected), "{expected} in the PDF:\n{text}");
    }

    // Nobody else reads it; admins do.
    let (status, _, _) = fetch(&app, &path, Some(&app.token(2000, Role::Student)), "application/json").await;
    assert_eq!(status, 404);
    assert_eq!(fetch(&app, &path, Some(&app.admin()), "application/json").await.0, 200);

    // A refund's credit note refers to the receipt, which lists it.
    let refund: Value = app
        .post(
            "/api/payments/refunds/",
            &app.admin(),
            &json!({"payment_id": payment, "amount": "15.00", "reason": "late"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let refund_id = refund["id"].as_str().unwrap();
    let approved = app.post(&format!("/api/payments/refunds/{refund_id}/approve/"), &app.admin(), &json!({})).await;
    assert_eq!(approved.status(), 200);
    let (status, _, body) =
        fetch(&app, &format!("/api/payments/refunds/{refund_id}/credit-note/"), Some(&buyer), "application/json").await;
    assert_eq!(status, 200);
    let note: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (&note["number"], &note["receipt_number"], &note["credited_amount"]),
        (&json!(format!("CN-TEST-{year}-000001")), &receipt["number"], &json!("15.00"))
    );
    let (_, _, body) = fetch(&app, &path, Some(&buyer), "application/json").await;
    let receipt: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(receipt["refunded_amount"], "15.00");
    assert_eq!(receipt["credit_notes"][0]["number"], note["number"]);
    let (_, _, pdf) =
        fetch(&app, &format!("/api/payments/refunds/{refund_id}/credit-note/"), Some(&buyer), "application/pdf").await;
    let text = pdf_text(&pdf);
    assert!(text.contains("Credit note") && text.contains("15.00") && text.contains(&format!("SK-TEST-{year}-000001")));

    // A payment never completed has no receipt.
    app.put_course(2, "10.00", "USD").await;
    let open: Value = app
        .post("/api/payments/", &buyer, &json!({"course_id": 2, "payment_method": "sandbox"}))
        .await
        .json()
        .await
        .unwrap();
    let (status, _, _) =
        fetch(&app, &format!("/api/payments/{}/receipt/", open["id"].as_str().unwrap()), Some(&buyer), "*/*").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_signed_link_shows_the_receipt_without_a_token_until_it_is_altered() {
    let app = spawn_app().await;
    let payment = paid_with_coupon(&app).await;
    let (_, _, body) =
        fetch(&app, &format!("/api/payments/{payment}/receipt/"), Some(&app.token(BUYER, Role::Student)), "*/*").await;
    let receipt: Value = serde_json::from_slice(&body).unwrap();
    let link = receipt["link"].as_str().unwrap().to_owned();
    assert!(link.starts_with(&format!("/receipts/{payment}/?expires=")), "{link}");

    let (status, content_type, html) = fetch(&app, &link, None, "text/html").await;
    assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"));
    assert!(String::from_utf8(html).unwrap().contains(receipt["number"].as_str().unwrap()));
    let (status, content_type, pdf) = fetch(&app, &format!("{link}&format=pdf"), None, "*/*").await;
    assert_eq!((status, content_type.as_str()), (200, "application/pdf"));
    assert!(pdf_text(&pdf).contains(receipt["number"].as_str().unwrap()));

    let altered = format!("{}0", &link[..link.len() - 1]);
    let (status, _, body) = fetch(&app, &altered, None, "text/html").await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    let later = link.replace("expires=", "expires=1");
    assert_eq!(fetch(&app, &later, None, "text/html").await.0, 404, "another expiry is not signed");
    let expired = format!("/receipts/{payment}/?expires=1&signature=00");
    assert_eq!(fetch(&app, &expired, None, "text/html").await.0, 404);
}

#[tokio::test]
async fn ten_concurrent_completions_get_ten_consecutive_numbers_without_a_gap() {
    let app = spawn_app_for_races().await;
    app.put_course(1, "30.00", "USD").await;
    let mut payments = Vec::new();
    for user in 0..10 {
        let token = app.token(5000 + user, Role::Student);
        let created: Value = app
            .post("/api/payments/", &token, &json!({"course_id": 1, "payment_method": "sandbox"}))
            .await
            .json()
            .await
            .unwrap();
        payments.push((token, created["id"].as_str().unwrap().to_owned()));
    }
    // Completions and numbering steps of several instances, all at once.
    let app = &app;
    let confirms = join_all(payments.iter().map(|(token, id)| async move {
        app.post(&format!("/api/payments/{id}/confirm/"), token, &json!({"payment_token": "sandbox_success"}))
            .await
            .status()
    }));
    let numberers = join_all((0..4).map(|_| app.state.receipts.number_pending()));
    let (statuses, _) = futures::join!(confirms, numberers);
    assert!(statuses.iter().all(|s| s.as_u16() == 200), "{statuses:?}");
    app.state.receipts.number_pending().await.unwrap();

    let mut numbers = Vec::new();
    for (token, id) in &payments {
        let (status, _, body) = fetch(app, &format!("/api/payments/{id}/receipt/"), Some(token), "*/*").await;
        assert_eq!(status, 200);
        let receipt: Value = serde_json::from_slice(&body).unwrap();
        numbers.push(receipt["number"].as_str().unwrap().to_owned());
    }
    let mut sequences: Vec<u64> = numbers.iter().map(|n| n.rsplit('-').next().unwrap().parse().unwrap()).collect();
    sequences.sort_unstable();
    assert_eq!(sequences, (1..=10).collect::<Vec<u64>>(), "{numbers:?}");
    let in_sale_order = app
        .store
        .scalar(
            "SELECT count(*) AS n FROM receipts a JOIN receipts b ON a.series = b.series \
             WHERE a.sequence < b.sequence AND (a.created_at, a.id) > (b.created_at, b.id)",
        )
        .unwrap();
    assert_eq!(in_sale_order, 0, "numbers follow the order of the sales");
    assert_eq!(app.store.scalar("SELECT last_number AS n FROM receipt_series").unwrap(), 10);
}
