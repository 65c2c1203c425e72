//! End-to-end test support: [`spawn_app`] starts the real HTTP server on a
//! free loopback port over a fresh, migrated PostgreSQL database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;

use adapters_postgres::PgStore;
use adapters_postgres::testing::TestDb;
use api_actix::auth::AuthConfig;
use app::Config;
use domain::ids::UserId;
use domain::usecases::{Actor, Role};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

/// The JWT secret of test apps.
pub const TEST_JWT_SECRET: &str = "test-secret-test-secret-test-secret!";

/// A running app with its own database.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The app's database.
    pub db: TestDb,
    /// A store on the same database, for checking what was written.
    pub store: PgStore,
    /// HTTP client.
    pub client: reqwest::Client,
    auth: AuthConfig,
    server: actix_web::dev::ServerHandle,
}

/// Starts the app on a free port over a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Like [`spawn_app`], with extra settings.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let mut vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), db.url().to_owned()),
        ("SKILLPAY_JWT_SECRET".into(), TEST_JWT_SECRET.into()),
        ("SKILLPAY_DB_POOL_SIZE".into(), "20".into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let config = Config::from_vars(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap();
    let store = app::connect(&config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = app::start_server(app::app_state(&config, store.clone()), listener).unwrap();
    let handle = server.handle();
    tokio::spawn(server);
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        db,
        store,
        client: reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap(),
        auth: AuthConfig::hs256(TEST_JWT_SECRET.as_bytes(), None),
        server: handle,
    }
}

impl TestApp {
    /// A valid token for a user.
    pub fn token(&self, user_id: i64, role: Role) -> String {
        self.auth.mint(Actor { user_id: UserId::new(user_id), role }, 3_600).unwrap()
    }

    /// An admin token (user 1).
    pub fn admin(&self) -> String {
        self.token(1, Role::Admin)
    }

    /// A request with an optional bearer token.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, format!("{}{}", self.base, path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// POSTs JSON.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(token)).json(body).send().await.unwrap()
    }

    /// GETs.
    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token)).send().await.unwrap()
    }

    /// PUTs a catalog course priced `price` USD for instructor 100.
    pub async fn put_course(&self, id: i64, price: &str, currency: &str) {
        let body = serde_json::json!({
            "title": format!("Course {id}"), "price": price, "currency": currency,
            "instructor_id": 100, "active": true
        });
        let res = self
            .request(Method::PUT, &format!("/api/payments/catalog/courses/{id}/"), Some(&self.admin()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }

    /// Creates a coupon from a JSON definition; returns its object.
    pub async fn create_coupon(&self, definition: Value) -> Value {
        let res = self.post("/api/payments/coupons/", &self.admin(), &definition).await;
        assert_eq!(res.status(), 201);
        res.json().await.unwrap()
    }

    /// Counts rows of a table (for "nothing was written" checks).
    pub async fn count(&self, table: &'static str) -> i64 {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.count_rows(table).unwrap()).await.unwrap()
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}
