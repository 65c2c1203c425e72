//! E-mail end to end, against a real SMTP server (aiosmtpd): the receipt
//! with its PDF, refund and payout news, a server down for a while, and
//! messages that cannot be sent to anyone.

use std::io::Write;
use std::process::{Command, Stdio};

use domain::usecases::Role;
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Value, json};
use skillpay_e2e::{SmtpSink, TestApp, spawn_app_with};

/// base64 of 32 bytes: seals payout destinations.
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const BUYER: i64 = 1000;

async fn app(sink: &SmtpSink) -> TestApp {
    spawn_app_with(&[
        ("SKILLPAY_SMTP_URL", &sink.url()),
        ("SKILLPAY_MAIL_ADMINS", "ops@example.com"),
        ("SKILLPAY_MAIL_TEST_ALLOW", "@example.com"),
        ("SKILLPAY_PUBLIC_URL", "https://pay.example.com"),
        ("SKILLPAY_ENCRYPTION_KEY", KEY),
        ("SKILLPAY_PAYOUT_HOLD_DAYS", "0"),
    ])
    .await
}

/// What the worker does each round: number receipts, send mail.
async fn mail_round(app: &TestApp) {
    app.state.receipts.number_pending().await.unwrap();
    app.state.mail.send_due(50).await.unwrap();
}

async fn purchase(app: &TestApp, email: &str) -> String {
    app.put_course(1, "80.00", "USD").await;
    let student = app.token(BUYER, Role::Student);
    let body =
        json!({"course_id": 1, "payment_method": "sandbox", "billing_name": "Ada Lovelace", "billing_email": email});
    let created: Value = app.post("/api/payments/", &student, &body).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let res =
        app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "sandbox_success"})).await;
    assert_eq!(res.status(), 200);
    id
}

fn pdf_text(pdf: &[u8]) -> String {
    let mut child =
        Command::new("pdftotext").args(["-", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

/// Each received message's recipient and subject.
fn inbox(sink: &SmtpSink) -> Vec<(String, String)> {
    sink.received()
        .iter()
        .map(|raw| {
            let message = MessageParser::default().parse(raw).unwrap();
            let to = message.to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned();
            (to, message.subject().unwrap_or_default().to_owned())
        })
        .collect()
}

async fn admin_mail(app: &TestApp) -> Vec<Value> {
    let page: Value = app.get("/api/payments/admin/mail/", &app.admin()).await.json().await.unwrap();
    page["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_purchase_sends_one_receipt_with_its_number_link_and_pdf() {
    let sink = SmtpSink::start().await;
    let app = app(&sink).await;
    let payment = purchase(&app, "ada@example.com").await;
    mail_round(&app).await;
    mail_round(&app).await;

    let received = sink.received();
    assert_eq!(received.len(), 1, "{:?}", inbox(&sink));
    let message = MessageParser::default().parse(&received[0]).unwrap();
    let year = chrono::Utc::now().format("%Y").to_string();
    let number = format!("SK-TEST-{year}-000001");
    assert_eq!(message.subject(), Some(format!("[TEST] Your receipt {number}").as_str()));
    let to = message.to().and_then(|a| a.first()).unwrap();
    assert_eq!((to.address(), to.name()), (Some("ada@example.com"), Some("Ada Lovelace")));
    let message_id = message.message_id().unwrap_or_default();
    assert!(message_id.starts_with("evt_") && message_id.ends_with(".receipt@skillpay"), "{message_id}");
    let text = message.body_text(0).unwrap();
    assert!(text.contains(&number) && text.contains("80.00\u{a0}USD"), "{text}");
    assert!(text.contains(&format!("https://pay.example.com/receipts/{payment}/?expires=")), "{text}");
    let html = message.body_html(0).unwrap();
    assert!(html.contains(&number) && html.contains("Test mode"), "{html}");
    let attachment = message.attachments().next().expect("the receipt's PDF");
    assert_eq!(attachment.attachment_name(), Some(format!("{number}.pdf").as_str()));
    assert_eq!(attachment.content_type().map(|c| (c.ctype(), c.subtype())), Some(("application", Some("pdf"))));
    assert!(pdf_text(attachment.contents()).contains(&number));

    // The link in the message opens the receipt without a token.
    let link = text.lines().find(|l| l.starts_with("https://pay.example.com")).unwrap().trim();
    let path = link.trim_start_matches("https://pay.example.com");
    let res = app.request(reqwest::Method::GET, path, None).send().await.unwrap();
    assert_eq!(res.status(), 200);

    let listed = admin_mail(&app).await;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0]["template"].as_str(), listed[0]["status"].as_str()), (Some("receipt"), Some("sent")));
    assert_eq!(listed[0]["recipients"], "ada@example.com");
}

#[tokio::test]
async fn refunds_and_a_rejected_payout_reach_the_buyer_the_instructor_and_the_admins() {
    let sink = SmtpSink::start().await;
    let app = app(&sink).await;
    let payment = purchase(&app, "ada@example.com").await;
    let refund: Value = app
        .post(
            "/api/payments/refunds/",
            &app.admin(),
            &json!({"payment_id": payment, "amount": "10.00", "reason": "late"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = refund["id"].as_str().unwrap();
    assert_eq!(app.post(&format!("/api/payments/refunds/{id}/approve/"), &app.admin(), &json!({})).await.status(), 200);

    // The instructor keeps their address current, then asks for a payout.
    let instructor = app.token(100, Role::Instructor);
    let contact = json!({"email": "grace@example.com", "name": "Grace Hopper", "locale": "de"});
    let res = app
        .request(reqwest::Method::PUT, "/api/payments/contacts/100/", Some(&instructor))
        .json(&contact)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let body = json!({"amount": "20.00", "currency": "USD", "method": "bank_transfer",
        "destination": {"account_holder": "Grace Hopper", "account_number": "DE89 3704 0044 0532 0130 00"}});
    let payout: Value = app.post("/api/payments/payouts/", &instructor, &body).await.json().await.unwrap();
    let payout_id = payout["id"].as_str().unwrap();
    let path = format!("/api/payments/payouts/{payout_id}/reject/");
    assert_eq!(app.post(&path, &app.admin(), &json!({"reason": "verify your account"})).await.status(), 200);
    for _ in 0..3 {
        mail_round(&app).await;
    }

    let mut got = inbox(&sink);
    got.sort();
    let year = chrono::Utc::now().format("%Y").to_string();
    let mut expected = vec![
        ("ada@example.com".to_owned(), format!("[TEST] Your receipt SK-TEST-{year}-000001")),
        ("ada@example.com".to_owned(), "[TEST] Your refund of 10.00\u{a0}USD is on its way".to_owned()),
        ("grace@example.com".to_owned(), "[TEST] Your payout request was declined".to_owned()),
        ("ops@example.com".to_owned(), "[TEST] Payout requested: 20.00\u{a0}USD by instructor 100".to_owned()),
        ("ops@example.com".to_owned(), format!("[TEST] Refund requested: 10.00\u{a0}USD for {payment}")),
    ];
    expected.sort();
    assert_eq!(got, expected);
    let note = sink
        .received()
        .into_iter()
        .map(|raw| MessageParser::default().parse(&raw).unwrap().into_owned())
        .find(|m| m.subject().is_some_and(|s| s.contains("Your refund")))
        .unwrap();
    let attached = note.attachments().next().expect("the refund's credit note");
    assert_eq!(attached.attachment_name(), Some(format!("CN-TEST-{year}-000001.pdf").as_str()));
    let text = pdf_text(attached.contents());
    assert!(text.contains(&format!("SK-TEST-{year}-000001")) && text.contains("10.00"), "{text}");
    let rejected = sink
        .received()
        .into_iter()
        .map(|raw| MessageParser::default().parse(&raw).unwrap().body_text(0).unwrap_or_default().into_owned())
        .find(|text| text.contains("verify your account"));
    assert!(rejected.is_some_and(|t| t.contains("20,00\u{a0}USD")), "the instructor's locale (de) writes the amount");
}

#[tokio::test]
async fn a_mail_server_down_for_a_while_loses_nothing_and_doubles_nothing() {
    let mut sink = SmtpSink::start().await;
    let app = app(&sink).await;
    sink.stop();
    purchase(&app, "ada@example.com").await;
    mail_round(&app).await;
    let listed = admin_mail(&app).await;
    assert_eq!((listed[0]["status"].as_str(), listed[0]["attempts"].as_u64()), (Some("pending"), Some(1)));
    assert_eq!(listed[0]["last_error"], "the mail server could not be reached", "a category, not the server's words");

    // Time passes, the server comes back, the retry falls due.
    sink.restart().await;
    app.store
        .scalar(
            "WITH due AS (UPDATE mail_messages SET next_attempt_at = now() RETURNING 1) SELECT count(*) AS n FROM due",
        )
        .unwrap();
    mail_round(&app).await;
    mail_round(&app).await;
    assert_eq!(sink.received().len(), 1, "sent once the server is back, and only once");
    assert_eq!(admin_mail(&app).await[0]["status"], "sent");

    // An admin may send it again on purpose; it carries the same Message-ID.
    let id = admin_mail(&app).await[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post(&format!("/api/payments/admin/mail/{id}/resend/"), &app.admin(), &json!({})).await.status(),
        200
    );
    mail_round(&app).await;
    let ids: Vec<String> = sink
        .received()
        .iter()
        .map(|raw| MessageParser::default().parse(raw).unwrap().message_id().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1]);
}

#[tokio::test]
async fn messages_nobody_can_receive_fail_with_the_reason_and_test_money_goes_only_to_the_allow_list() {
    let sink = SmtpSink::start().await;
    let app = app(&sink).await;
    purchase(&app, "someone@gmail.test").await;
    mail_round(&app).await;
    let listed = admin_mail(&app).await;
    assert_eq!(
        (listed[0]["status"].as_str(), listed[0]["recipients"].as_str()),
        (Some("suppressed"), Some("someone@gmail.test"))
    );
    assert!(sink.received().is_empty(), "test money never writes to a real buyer");

    // A payout's instructor with no contact record: failed, with why.
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let body = json!({"amount": "20.00", "currency": "USD", "method": "bank_transfer",
        "destination": {"account_holder": "Grace Hopper", "account_number": "DE89 3704 0044 0532 0130 00"}});
    let payout: Value =
        app.post("/api/payments/payouts/", &app.token(100, Role::Instructor), &body).await.json().await.unwrap();
    let path = format!("/api/payments/payouts/{}/reject/", payout["id"].as_str().unwrap());
    app.post(&path, &app.admin(), &json!({"reason": "no"})).await;
    mail_round(&app).await;
    let failed: Vec<Value> = admin_mail(&app).await.into_iter().filter(|m| m["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["last_error"], "no e-mail address for user 100");

    // Header injection and strangers are refused.
    let instructor = app.token(100, Role::Instructor);
    for bad in [
        json!({"email": "grace@example.com\r\nBcc: all@example.com"}),
        json!({"email": "grace@example.com", "locale": "xx"}),
    ] {
        let res = app
            .request(reqwest::Method::PUT, "/api/payments/contacts/100/", Some(&instructor))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
    }
    let res = app
        .request(reqwest::Method::PUT, "/api/payments/contacts/101/", Some(&instructor))
        .json(&json!({"email": "x@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "only one's own record");
}

/// A buyer's token that names their address, name and language.
fn token_with_email(user: i64, email: &str) -> String {
    let claims = api_actix::auth::Claims {
        sub: user.to_string(),
        role: Role::Student,
        exp: u64::try_from(chrono::Utc::now().timestamp() + 3_600).unwrap(),
        aud: None,
        iss: None,
        test_mode: false,
        email: Some(email.to_owned()),
        name: Some("Grace Hopper".to_owned()),
        locale: Some("de-DE".to_owned()),
    };
    let key = jsonwebtoken::EncodingKey::from_secret(skillpay_e2e::TEST_JWT_SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).unwrap()
}

#[tokio::test]
async fn a_token_email_claim_receives_the_receipt_unless_the_platform_set_the_contact() {
    let sink = SmtpSink::start().await;
    let app = app(&sink).await;
    app.put_course(1, "4500", "JPY").await;
    let student = token_with_email(BUYER, "grace@example.com");
    let created: Value = app
        .post("/api/payments/", &student, &json!({"course_id": 1, "payment_method": "sandbox"}))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let res =
        app.post(&format!("/api/payments/{id}/confirm/"), &student, &json!({"payment_token": "sandbox_success"})).await;
    assert_eq!(res.status(), 200);

    // The contact is recorded beside the request, not in its way.
    let contact_path = format!("/api/payments/contacts/{BUYER}/");
    let mut contact = Value::Null;
    for _ in 0..50 {
        let res = app.get(&contact_path, &app.admin()).await;
        if res.status() == 200 {
            contact = res.json().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!((contact["email"].as_str(), contact["locale"].as_str()), (Some("grace@example.com"), Some("de")));

    mail_round(&app).await;
    mail_round(&app).await;
    let received = sink.received();
    assert_eq!(received.len(), 1, "{:?}", inbox(&sink));
    let message = MessageParser::default().parse(&received[0]).unwrap();
    let to = message.to().and_then(|a| a.first()).unwrap();
    assert_eq!(to.address(), Some("grace@example.com"));
    let text = message.body_text(0).unwrap();
    assert!(text.contains("4.500\u{a0}JPY"), "amounts in the claim's language: {text}");

    // The platform's record wins over any token after it.
    let res = app
        .request(reqwest::Method::PUT, &contact_path, Some(&app.admin()))
        .json(&json!({"email": "ada@example.com", "locale": "fr"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let learnt =
        app.state.mail.learn_contact(domain::ids::UserId::new(BUYER), "other@example.com", None, None).await.unwrap();
    assert!(!learnt);
    let kept: Value = app.get(&contact_path, &app.admin()).await.json().await.unwrap();
    assert_eq!((kept["email"].as_str(), kept["locale"].as_str()), (Some("ada@example.com"), Some("fr")));

    // A claim that is no address is ignored, and the request goes on.
    let odd = token_with_email(BUYER + 1, "not an address\r\nBcc: x@example.com");
    assert_eq!(app.get("/api/payments/", &odd).await.status(), 200);
}

#[tokio::test]
async fn mail_goes_through_starttls_with_authentication_to_a_relay_of_a_private_authority() {
    let (sink, ca_pem) = SmtpSink::start_secure("skillpay", "relay-password").await;
    let ca_file = sink.dir.with_extension("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    // An app sending with STARTTLS as `skillpay` with `password`,
    // trusting the relay's authority.
    let app_with = |password: &str| {
        let url = format!("smtp://skillpay:{password}@127.0.0.1:{}?tls=required", sink.port);
        let ca = ca_file.to_str().unwrap().to_owned();
        async move {
            spawn_app_with(&[
                ("SKILLPAY_SMTP_URL", &url),
                ("SKILLPAY_SMTP_CA_FILE", &ca),
                ("SKILLPAY_MAIL_TEST_ALLOW", "@example.com"),
            ])
            .await
        }
    };
    let app = app_with("relay-password").await;
    purchase(&app, "ada@example.com").await;
    mail_round(&app).await;
    mail_round(&app).await;
    assert_eq!(inbox(&sink).len(), 1, "{:?}", admin_mail(&app).await);
    assert_eq!(admin_mail(&app).await[0]["status"], "sent");

    // A wrong password is a failed attempt, retried later; nothing is lost.
    let refused = app_with("wrong").await;
    purchase(&refused, "ada@example.com").await;
    mail_round(&refused).await;
    mail_round(&refused).await;
    let listed = admin_mail(&refused).await;
    assert_eq!(
        (listed[0]["status"].as_str(), listed[0]["attempts"].as_i64()),
        (Some("pending"), Some(1)),
        "{listed:?}"
    );
    let error = listed[0]["last_error"].as_str().unwrap_or_default();
    assert!(!error.contains("wrong") && !error.contains("relay-password"), "no password in errors: {error}");
    assert_eq!(inbox(&sink).len(), 1);
    let _ = std::fs::remove_file(ca_file);
}
