//! Money decisions made through the API leave an actor trail: who asked,
//! who approved (with the note), and every change of the object in the
//! audit log, written in the change's own transaction: refunds, payouts,
//! coupons, gateway configurations, event endpoints and disputes.

use domain::usecases::Role;
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app_with};

/// base64 of 32 bytes: seals payout destinations in these tests.
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const STUDENT: i64 = 1000;
const INSTRUCTOR: i64 = 100;
const ADMIN: i64 = 1;

/// (operation, actor id, actor role, status before, status after).
type Entry = (String, Option<i64>, Option<String>, Value, Value);

/// Each change of the object, oldest first.
fn trail(app: &TestApp, object_id: &str) -> Vec<Entry> {
    let mut conn = app.store.connection().unwrap();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        operation: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
        actor_id: Option<i64>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        actor_role: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        before: Value,
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        after: Value,
    }
    use diesel::RunQueryDsl;
    let uuid = object_id.split_once('_').map(|(_, hex)| hex).unwrap();
    let entries: Vec<Row> = diesel::sql_query(
        "SELECT operation, actor_id, actor_role, coalesce(before, 'null') AS before, coalesce(after, 'null') AS after \
         FROM audit_log WHERE replace(object_id, '-', '') = $1 ORDER BY id",
    )
    .bind::<diesel::sql_types::Text, _>(uuid)
    .load(&mut conn)
    .unwrap();
    entries
        .into_iter()
        .map(|e| (e.operation, e.actor_id, e.actor_role, e.before["status"].clone(), e.after["status"].clone()))
        .collect()
}

/// Each change of the objects of `kind`, oldest first, with `field`
/// before and after.
fn changes(app: &TestApp, kind: &str, field: &str) -> Vec<Entry> {
    let mut conn = app.store.connection().unwrap();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        operation: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
        actor_id: Option<i64>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        actor_role: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        before: Value,
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        after: Value,
    }
    use diesel::RunQueryDsl;
    let entries: Vec<Row> = diesel::sql_query(
        "SELECT operation, actor_id, actor_role, coalesce(before, 'null') AS before, coalesce(after, 'null') AS after \
         FROM audit_log WHERE object_kind = $1 ORDER BY id",
    )
    .bind::<diesel::sql_types::Text, _>(kind)
    .load(&mut conn)
    .unwrap();
    entries
        .into_iter()
        .map(|e| (e.operation, e.actor_id, e.actor_role, e.before[field].clone(), e.after[field].clone()))
        .collect()
}

fn entry(
    operation: &str,
    actor: Option<(i64, &str)>,
    before: Value,
    after: Value,
) -> (String, Option<i64>, Option<String>, Value, Value) {
    (operation.to_owned(), actor.map(|(id, _)| id), actor.map(|(_, role)| role.to_owned()), before, after)
}

#[tokio::test]
async fn a_refund_records_who_asked_who_approved_with_the_note_and_each_change() {
    let app = spawn_app_with(&[]).await;
    let payment = app.sandbox_sale(1, "100.00").await;
    let student = app.token(STUDENT, Role::Student);

    // A request the refund rules refuse writes nothing, its audit entry included.
    let refused = app
        .post("/api/payments/refunds/", &student, &json!({"payment_id": payment, "amount": "100.01", "reason": "x"}))
        .await;
    assert_eq!(refused.status(), 422);
    assert_eq!(app.count("audit_log").await, 0);

    let asked: Value = app
        .post(
            "/api/payments/refunds/",
            &student,
            &json!({"payment_id": payment, "amount": "30.00", "reason": "wrong course"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = asked["id"].as_str().unwrap();
    assert_eq!((asked["approved_by"].clone(), asked["admin_note"].clone()), (Value::Null, Value::Null));

    let long_note = "n".repeat(1_001);
    let res =
        app.post(&format!("/api/payments/refunds/{id}/approve/"), &app.admin(), &json!({"note": long_note})).await;
    assert_eq!(res.status(), 422, "a note is at most 1,000 characters");
    let res =
        app.post(&format!("/api/payments/refunds/{id}/approve/"), &app.admin(), &json!({"note": "goodwill"})).await;
    assert_eq!(res.status(), 200);
    let approved: Value = res.json().await.unwrap();
    assert_eq!(approved["status"], "processed");
    assert_eq!(approved["approved_by"], ADMIN);
    assert!(approved["approved_at"].is_string());
    assert_eq!(approved["admin_note"], "goodwill");
    let read: Value = app.get(&format!("/api/payments/refunds/{id}/"), &student).await.json().await.unwrap();
    assert_eq!((read["approved_by"].clone(), read["admin_note"].clone()), (json!(ADMIN), json!("goodwill")));

    assert_eq!(
        trail(&app, id),
        vec![
            entry("insert", Some((STUDENT, "student")), Value::Null, json!("requested")),
            entry("update", Some((ADMIN, "admin")), json!("requested"), json!("approved")),
            entry("update", Some((ADMIN, "admin")), json!("approved"), json!("processing")),
            // The gateway's answer settles it: the service's own change.
            entry("update", None, json!("processing"), json!("processed")),
        ]
    );
}

#[tokio::test]
async fn a_payout_records_its_approver_and_never_its_sealed_destination_in_the_log() {
    let app = spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY), ("SKILLPAY_PAYOUT_HOLD_DAYS", "0")]).await;
    app.sandbox_sale(1, "100.00").await;
    app.state.payouts.release_due_earnings(100).await.unwrap();
    let instructor = app.token(INSTRUCTOR, Role::Instructor);
    let body = json!({"amount": "20.00", "currency": "USD", "method": "bank_transfer",
        "destination": {"account_holder": "Ada Lovelace", "account_number": "DE89 3704 0044 0532 0130 00"}});
    let res = app.post("/api/payments/payouts/", &instructor, &body).await;
    assert_eq!(res.status(), 201);
    let asked: Value = res.json().await.unwrap();
    let id = asked["id"].as_str().unwrap();

    let res = app
        .post(&format!("/api/payments/payouts/{id}/approve/"), &app.admin(), &json!({"note": "checked the IBAN"}))
        .await;
    assert_eq!(res.status(), 200);
    let approved: Value = res.json().await.unwrap();
    assert_eq!(approved["status"], "processing", "a bank transfer waits for the admin to mark it");
    assert_eq!(
        (approved["approved_by"].clone(), approved["admin_note"].clone()),
        (json!(ADMIN), json!("checked the IBAN"))
    );
    let res = app
        .post(&format!("/api/payments/payouts/{id}/mark-paid/"), &app.admin(), &json!({"reference": "WIRE-1"}))
        .await;
    assert_eq!(res.status(), 200);

    assert_eq!(
        trail(&app, id),
        vec![
            entry("insert", Some((INSTRUCTOR, "instructor")), Value::Null, json!("requested")),
            entry("update", Some((ADMIN, "admin")), json!("requested"), json!("approved")),
            entry("update", Some((ADMIN, "admin")), json!("approved"), json!("processing")),
            entry("update", Some((ADMIN, "admin")), json!("processing"), json!("paid")),
        ]
    );
    let leaks = app
        .store
        .scalar("SELECT count(*) AS n FROM audit_log WHERE after::text LIKE '%370400440532013000%' OR after ? 'destination_encrypted'")
        .unwrap();
    assert_eq!(leaks, 0, "the sealed destination is never copied into the log");
    let rewritten = app.store.scalar("WITH gone AS (DELETE FROM audit_log RETURNING 1) SELECT count(*) AS n FROM gone");
    assert!(rewritten.is_err(), "the log is append-only");
}

/// Admins other than the tests' default one, so that the log is seen to
/// name whoever acted.
const EDITOR: i64 = 7;
const REVIEWER: i64 = 8;

#[tokio::test]
async fn coupon_creation_edits_and_deactivation_name_the_admin_who_made_them() {
    let app = spawn_app_with(&[]).await;
    let (editor, reviewer) = (app.token(EDITOR, Role::Admin), app.token(REVIEWER, Role::Admin));
    let body = json!({"code": "AUDIT10", "discount_type": "percentage", "discount_value": "10", "max_uses": 50});
    let res = app.post("/api/payments/coupons/", &editor, &body).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/payments/coupons/{id}/");
    let res = app.request(reqwest::Method::PATCH, &path, Some(&reviewer)).json(&json!({"max_uses": 20})).send().await;
    assert_eq!(res.unwrap().status(), 200);
    let res = app.request(reqwest::Method::DELETE, &path, Some(&editor)).send().await.unwrap();
    assert_eq!(res.status(), 200);

    let (by_editor, by_reviewer) = (Some((EDITOR, "admin")), Some((REVIEWER, "admin")));
    assert_eq!(
        changes(&app, "coupon", "max_uses"),
        vec![
            entry("insert", by_editor, Value::Null, json!(50)),
            entry("update", by_reviewer, json!(50), json!(20)),
            entry("update", by_editor, json!(20), json!(20)),
        ]
    );
    assert_eq!(
        changes(&app, "coupon", "is_active").last(),
        Some(&entry("update", by_editor, json!(true), json!(false)))
    );
}

#[tokio::test]
async fn gateway_configuration_and_event_endpoint_changes_name_the_admin() {
    let app = spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", KEY)]).await;
    let (editor, reviewer) = (app.token(EDITOR, Role::Admin), app.token(REVIEWER, Role::Admin));
    let put = |token: &str, active: bool| {
        let body =
            json!({"is_active": active, "credentials": {"secret_key": "sk_test_audit", "webhook_secret": "whsec_a"}});
        app.request(reqwest::Method::PUT, "/api/payments/admin/gateway-configs/stripe/test/", Some(token))
            .json(&body)
            .send()
    };
    assert_eq!(put(&editor, false).await.unwrap().status(), 200);
    assert_eq!(put(&reviewer, true).await.unwrap().status(), 200);
    assert_eq!(
        changes(&app, "gateway_config", "is_active"),
        vec![
            entry("insert", Some((EDITOR, "admin")), Value::Null, json!(false)),
            entry("update", Some((REVIEWER, "admin")), json!(false), json!(true)),
        ]
    );

    let body = json!({"url": "https://platform.example/hooks", "event_types": ["payment.completed"]});
    let res = app.post("/api/payments/admin/event-endpoints/", &editor, &body).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let path = format!("/api/payments/admin/event-endpoints/{}/", created["id"].as_str().unwrap());
    let res = app.request(reqwest::Method::DELETE, &path, Some(&reviewer)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        changes(&app, "event_endpoint", "active"),
        vec![
            entry("insert", Some((EDITOR, "admin")), Value::Null, json!(true)),
            entry("update", Some((REVIEWER, "admin")), json!(true), json!(false)),
        ]
    );
    let leaks = app
        .store
        .scalar("SELECT count(*) AS n FROM audit_log WHERE after ? 'secret_sealed' OR after ? 'credentials_encrypted'");
    assert_eq!(leaks.unwrap(), 0, "sealed secrets are never copied into the log");
}

#[tokio::test]
async fn an_admin_s_evidence_and_acceptance_name_them_and_a_webhook_s_change_names_no_one() {
    use crate::disputes::{deliver, dispute_is, paid_app, stripe, stripe_moves_to};
    let server = stripe().await;
    let (app, _payment) = paid_app(&server).await;
    dispute_is(&server, "needs_response", 5).await;
    assert_eq!(deliver(&app, "evt_open", "charge.dispute.created").await, 200);
    let list: Value = app.get("/api/payments/disputes/", &app.admin()).await.json().await.unwrap();
    let id = list["data"][0]["id"].as_str().unwrap().to_owned();

    stripe_moves_to(&server, "", "under_review", 4).await;
    let body = json!({"explanation": "The student watched 9 of 10 lessons."});
    let res = app.post(&format!("/api/payments/disputes/{id}/evidence/"), &app.token(EDITOR, Role::Admin), &body).await;
    assert_eq!(res.status(), 200);
    stripe_moves_to(&server, "/close", "lost", 3).await;
    let res =
        app.post(&format!("/api/payments/disputes/{id}/accept/"), &app.token(REVIEWER, Role::Admin), &json!({})).await;
    assert_eq!(res.status(), 200);

    assert_eq!(
        trail(&app, &id),
        vec![
            entry("insert", None, Value::Null, json!("needs_response")),
            // The evidence reaching the gateway, recorded with its event.
            entry("update", Some((EDITOR, "admin")), json!("needs_response"), json!("needs_response")),
            entry("update", Some((EDITOR, "admin")), json!("needs_response"), json!("under_review")),
            entry("update", Some((REVIEWER, "admin")), json!("under_review"), json!("lost")),
        ]
    );
    let announced: Vec<String> =
        app.store.outbox_events_for(id.clone()).await.unwrap().into_iter().map(|e| e.event_type).collect();
    assert_eq!(announced, ["dispute.opened", "dispute.evidence_submitted", "dispute.updated", "dispute.closed"]);
}

#[tokio::test]
async fn a_dispute_an_admin_opens_and_resolves_names_them() {
    let app = spawn_app_with(&[]).await;
    let payment = app.sandbox_sale(1, "100.00").await;
    let body = json!({"payment_id": payment, "amount": "30.00", "reason": "bank recall"});
    let res = app.post("/api/payments/disputes/", &app.token(EDITOR, Role::Admin), &body).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/payments/disputes/{id}/resolve/");
    let res = app.post(&path, &app.token(REVIEWER, Role::Admin), &json!({"outcome": "won"})).await;
    assert_eq!(res.status(), 200);
    let res = app.post(&path, &app.admin(), &json!({"outcome": "lost"})).await;
    assert_eq!(res.status(), 409, "a refused decision writes nothing");

    assert_eq!(
        trail(&app, &id),
        vec![
            entry("insert", Some((EDITOR, "admin")), Value::Null, json!("needs_response")),
            entry("update", Some((REVIEWER, "admin")), json!("needs_response"), json!("won")),
        ]
    );
}
