//! The authorization matrix, from the route table: every operation of the
//! OpenAPI document must be declared below with who may call it, and every
//! route × role is tried. A new route without a declared guard fails here.

use std::collections::BTreeSet;

use domain::usecases::Role;
use reqwest::Method;
use serde_json::{Value, json};
use skillpay_e2e::spawn_app;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// No token needed.
    Public,
    /// No token: the gateway's signature is the credential.
    Webhook,
    /// Any signed-in user (the use case scopes what they see).
    AnyUser,
    /// Instructors (and admins); students get 403 (404 for an object).
    Instructor,
    /// Instructors only, for themselves: students and admins get 403.
    InstructorOnly,
    /// Admins only: students and instructors get 403.
    Admin,
}

use Access::{Admin, AnyUser, Instructor, InstructorOnly, Public, Webhook};

/// Every operation, with who may call it.
const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Public),
    ("GET", "/readyz", Public),
    ("GET", "/metrics", Public),
    ("POST", "/api/payments/webhooks/{gateway}/", Webhook),
    ("GET", "/api/payments/", AnyUser),
    ("POST", "/api/payments/", AnyUser),
    ("GET", "/api/payments/{id}/", AnyUser),
    ("GET", "/api/payments/{id}/receipt/", AnyUser),
    ("POST", "/api/payments/{id}/cancel/", AnyUser),
    ("POST", "/api/payments/{id}/confirm/", AnyUser),
    ("POST", "/api/payments/coupons/validate/", AnyUser),
    ("GET", "/api/payments/refunds/", AnyUser),
    ("POST", "/api/payments/refunds/", AnyUser),
    ("GET", "/api/payments/refunds/{id}/", AnyUser),
    ("GET", "/api/payments/refunds/{id}/credit-note/", AnyUser),
    ("GET", "/api/payments/payouts/", Instructor),
    ("POST", "/api/payments/payouts/", InstructorOnly),
    ("GET", "/api/payments/payouts/balance/", Instructor),
    ("GET", "/api/payments/payouts/{id}/", Instructor),
    ("POST", "/api/payments/payouts/{id}/cancel/", Instructor),
    ("GET", "/api/payments/instructor/earnings/", Instructor),
    ("PUT", "/api/payments/catalog/{kind}/{id}/", Admin),
    ("GET", "/api/payments/catalog/{kind}/{id}/", AnyUser),
    ("GET", "/api/payments/coupons/", Admin),
    ("POST", "/api/payments/coupons/", Admin),
    ("GET", "/api/payments/coupons/{id}/", Admin),
    ("DELETE", "/api/payments/coupons/{id}/", Admin),
    ("PATCH", "/api/payments/coupons/{id}/", Admin),
    ("POST", "/api/payments/refunds/{id}/approve/", Admin),
    ("POST", "/api/payments/refunds/{id}/reject/", Admin),
    ("GET", "/api/payments/disputes/", Admin),
    ("POST", "/api/payments/disputes/", Admin),
    ("GET", "/api/payments/disputes/{id}/", Admin),
    ("POST", "/api/payments/disputes/{id}/evidence/", Admin),
    ("POST", "/api/payments/disputes/{id}/accept/", Admin),
    ("POST", "/api/payments/disputes/{id}/resolve/", Admin),
    ("POST", "/api/payments/payouts/{id}/approve/", Admin),
    ("POST", "/api/payments/payouts/{id}/reject/", Admin),
    ("POST", "/api/payments/payouts/{id}/mark-paid/", Admin),
    ("POST", "/api/payments/payouts/{id}/mark-failed/", Admin),
    ("GET", "/api/payments/stats/", Admin),
    ("GET", "/api/payments/admin/ledger/{account}/", Admin),
    ("GET", "/api/payments/admin/gateway-configs/", Admin),
    ("PUT", "/api/payments/admin/gateway-configs/{provider}/{mode}/", Admin),
    ("GET", "/api/payments/admin/event-endpoints/", Admin),
    ("POST", "/api/payments/admin/event-endpoints/", Admin),
    ("DELETE", "/api/payments/admin/event-endpoints/{id}/", Admin),
    ("POST", "/api/payments/admin/event-endpoints/{id}/backfill/", Admin),
    ("GET", "/api/payments/admin/mail/", Admin),
    ("POST", "/api/payments/admin/mail/{id}/resend/", Admin),
    ("PUT", "/api/payments/contacts/{user_id}/", AnyUser),
    ("GET", "/api/payments/contacts/{user_id}/", AnyUser),
    ("GET", "/api/payments/admin/event-deliveries/", Admin),
    ("GET", "/api/payments/admin/event-deliveries/{id}/", Admin),
    ("POST", "/api/payments/admin/event-deliveries/{id}/replay/", Admin),
    ("GET", "/api/payments/admin/reconciliation/runs/", Admin),
    ("GET", "/api/payments/admin/reconciliation/lines/", Admin),
    ("GET", "/api/payments/admin/reconciliation/payouts/", Admin),
    ("GET", "/api/payments/admin/reconciliation/discrepancies/", Admin),
    ("GET", "/api/payments/admin/reconciliation/discrepancies/{id}/", Admin),
    ("POST", "/api/payments/admin/reconciliation/discrepancies/{id}/resolve/", Admin),
    ("POST", "/api/payments/admin/console-sessions/revoke/", Admin),
    ("GET", "/api/payments/admin/fraud/rules/", Admin),
    ("POST", "/api/payments/admin/fraud/rules/", Admin),
    ("PUT", "/api/payments/admin/fraud/rules/{id}/", Admin),
    ("DELETE", "/api/payments/admin/fraud/rules/{id}/", Admin),
    ("GET", "/api/payments/admin/fraud/blocks/", Admin),
    ("POST", "/api/payments/admin/fraud/blocks/", Admin),
    ("DELETE", "/api/payments/admin/fraud/blocks/{id}/", Admin),
    ("GET", "/api/payments/admin/fraud/decisions/", Admin),
    ("POST", "/api/payments/{id}/review/", Admin),
];

/// A concrete path: ids well formed (of the right kind) but unknown.
fn concrete(template: &str) -> String {
    let id = "0193a1b2c3d4e5f60718293a4b5c6d7e";
    let prefix = match template {
        t if t.starts_with("/api/payments/refunds/") => "re",
        t if t.starts_with("/api/payments/payouts/") => "po",
        t if t.starts_with("/api/payments/disputes/") => "dp",
        t if t.starts_with("/api/payments/coupons/") => "cpn",
        t if t.starts_with("/api/payments/admin/event-endpoints/") => "we",
        t if t.starts_with("/api/payments/admin/event-deliveries/") => "dlv",
        t if t.starts_with("/api/payments/admin/reconciliation/") => "sdis",
        t if t.starts_with("/api/payments/admin/fraud/rules/") => "frr",
        t if t.starts_with("/api/payments/admin/fraud/blocks/") => "frb",
        t if t.starts_with("/api/payments/admin/mail/") => "mail",
        _ => "pay",
    };
    template
        .replace("{kind}/{id}", "courses/1")
        .replace("{provider}/{mode}", "stripe/test")
        .replace("{gateway}", "stripe")
        .replace("{account}", "platform_revenue")
        .replace("{user_id}", "424242")
        .replace("{id}", &format!("{prefix}_{id}"))
}

/// A body a caller allowed in would send (so a refusal is the guard's, not
/// the validation's).
fn body(method: &str, template: &str) -> Value {
    match (method, template) {
        ("POST", "/api/payments/payouts/") => {
            json!({"amount": "10.00", "currency": "USD", "method": "paypal", "destination": {"email": "a@b.co"}})
        }
        ("POST", "/api/payments/") => json!({"course_id": 1, "payment_method": "sandbox"}),
        _ => json!({}),
    }
}

#[tokio::test]
async fn every_documented_route_is_declared_here() {
    let app = spawn_app().await;
    let doc: Value =
        app.client.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let declared: BTreeSet<_> = ROUTES.iter().map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned())).collect();
    let undeclared: Vec<_> = documented.difference(&declared).collect();
    assert!(undeclared.is_empty(), "routes without a declared guard: {undeclared:?}");
    let stale: Vec<_> = declared.iter().filter(|(_, p)| p != "/metrics").filter(|r| !documented.contains(*r)).collect();
    assert!(stale.is_empty(), "declared but not documented: {stale:?}");
}

#[tokio::test]
async fn every_route_answers_every_role_as_declared() {
    let app =
        skillpay_e2e::spawn_app_with(&[("SKILLPAY_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")])
            .await;
    app.put_course(1, "10.00", "USD").await;
    let tokens = [
        (Role::Student, app.token(1000, Role::Student)),
        (Role::Instructor, app.token(100, Role::Instructor)),
        (Role::Admin, app.admin()),
    ];
    let mut wrong = Vec::new();
    for (method, template, access) in ROUTES {
        let path = concrete(template);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = body(method.as_str(), template);
        let anonymous = app.request(method.clone(), &path, None).json(&body).send().await.unwrap().status().as_u16();
        let anonymous_ok = match access {
            Public => anonymous != 401 && anonymous != 403,
            // Unsigned: refused (400), or 503 when the gateway's webhooks
            // are not configured (fail closed) — never a token question.
            Webhook => anonymous == 400 || anonymous == 503,
            AnyUser | Instructor | InstructorOnly | Admin => anonymous == 401,
        };
        if !anonymous_ok {
            wrong.push(format!("{method} {path} without a token: {anonymous}"));
        }
        for (role, token) in &tokens {
            let status =
                app.request(method.clone(), &path, Some(token)).json(&body).send().await.unwrap().status().as_u16();
            // Someone else's object is not found rather than forbidden.
            let object = template.contains("{id}");
            let as_declared = match (access, role) {
                (Admin, Role::Student | Role::Instructor)
                | (Instructor, Role::Student)
                | (InstructorOnly, Role::Student | Role::Admin) => status == 403 || (object && status == 404),
                (Webhook, _) => status == 400 || status == 503,
                _ => status != 401 && status != 403 && status < 500,
            };
            if !as_declared {
                wrong.push(format!("{method} {path} as {role:?}: {status}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
