//! Console sessions do not outlive what vouched for them: a token's session
//! ends with the token, a one-time link's after half an hour unused, and an
//! admin can end every session of a user at once.

use std::time::Duration;

use diesel::RunQueryDsl;
use domain::actor::Actor;
use domain::ids::UserId;
use domain::usecases::Role;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use skillpay_e2e::{TestApp, spawn_app};
use web_ports::console::ConsoleStore;

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The session cookie (`name=value`) and its `Max-Age`, from a sign-in answer.
fn session_of(res: &reqwest::Response) -> (String, i64) {
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let max_age = cookie
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Max-Age="))
        .map(|age| age.parse().unwrap())
        .unwrap();
    (cookie.split(';').next().unwrap().to_owned(), max_age)
}

async fn sign_in(app: &TestApp, token: &str) -> (String, i64) {
    let res = browser()
        .post(format!("{}/admin/sign-in", app.base))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    session_of(&res)
}

async fn dashboard(app: &TestApp, cookie: &str) -> StatusCode {
    browser().get(format!("{}/admin/", app.base)).header(COOKIE, cookie).send().await.unwrap().status()
}

#[tokio::test]
async fn a_token_session_ends_when_its_token_expires() {
    let app = spawn_app().await;
    let token = app.state.auth.mint(Actor::new(UserId::new(1), Role::Admin), 3).unwrap();
    let (cookie, max_age) = sign_in(&app, &token).await;
    assert!((0..=3).contains(&max_age), "the cookie lasts no longer than the token: {max_age}");
    assert_eq!(dashboard(&app, &cookie).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(dashboard(&app, &cookie).await, StatusCode::SEE_OTHER, "signed out with the token's expiry");
    // A long-lived token still gets the 12-hour session.
    let (_, max_age) = sign_in(&app, &app.admin()).await;
    assert!(max_age <= 12 * 3600, "{max_age}");
}

#[tokio::test]
async fn a_one_time_link_session_ends_after_half_an_hour_unused() {
    let app = spawn_app().await;
    let secret = api_actix::console::new_secret();
    let hash = api_actix::console::secret_hash(&secret);
    let expires = chrono::Utc::now() + chrono::Duration::minutes(15);
    app.store.create_link(hash, Actor::new(UserId::new(1), Role::Admin), expires).await.unwrap();
    let res = browser().post(format!("{}/admin/link/{secret}", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (cookie, _) = session_of(&res);
    assert_eq!(dashboard(&app, &cookie).await, StatusCode::OK);
    // 29 minutes unused: still open, and the request marks it used again.
    let mut conn = app.store.connection().unwrap();
    let idle =
        |minutes: i64| format!("UPDATE console_sessions SET last_seen_at = now() - interval '{minutes} minutes'");
    diesel::sql_query(idle(29)).execute(&mut conn).unwrap();
    assert_eq!(dashboard(&app, &cookie).await, StatusCode::OK);
    diesel::sql_query(idle(31)).execute(&mut conn).unwrap();
    assert_eq!(dashboard(&app, &cookie).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_admin_ends_every_console_session_of_a_user() {
    let app = spawn_app().await;
    let laptop = sign_in(&app, &app.token(7, Role::Admin)).await.0;
    let phone = sign_in(&app, &app.token(7, Role::Admin)).await.0;
    let other = sign_in(&app, &app.token(8, Role::Admin)).await.0;
    let path = "/api/payments/admin/console-sessions/revoke/";
    assert_eq!(app.post(path, &app.token(7, Role::Instructor), &json!({"user_id": 7})).await.status(), 403);
    let res = app.post(path, &app.admin(), &json!({"user_id": 7})).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!((body["user_id"].as_i64(), body["revoked"].as_i64()), (Some(7), Some(2)));
    assert_eq!(dashboard(&app, &laptop).await, StatusCode::SEE_OTHER);
    assert_eq!(dashboard(&app, &phone).await, StatusCode::SEE_OTHER);
    assert_eq!(dashboard(&app, &other).await, StatusCode::OK, "another user's session stays");
    let audited = app
        .store
        .scalar("SELECT count(*) AS n FROM console_audit_log WHERE action = 'console_sessions.revoke' AND object_id = 'user:7'")
        .unwrap();
    assert_eq!(audited, 1);
    let bad = app.post(path, &app.admin(), &json!({"user_id": 0})).await;
    assert_eq!(bad.status(), 422);
}
