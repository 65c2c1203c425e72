//! Money decisions made through the API leave an actor trail: who asked,
//! who approved (with the note), and every change of the object in the
//! audit log, written in the change's own transaction.

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
