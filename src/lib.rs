//! End-to-end test support: [`spawn_app`] starts the real HTTP server on a
//! free loopback port over a fresh, migrated PostgreSQL database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::sync::atomic::{AtomicI64, Ordering};

use adapters_postgres::PgStore;
use adapters_postgres::testing::TestDb;
use api_actix::auth::AuthConfig;
use app::Config;
use domain::ids::UserId;
use domain::usecases::{Actor, Role, TestMode};
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
    /// The app's wiring, for driving use cases (background jobs) directly.
    pub state: api_actix::AppState,
    /// The app's settings.
    pub config: Config,
    auth: AuthConfig,
    server: actix_web::dev::ServerHandle,
    /// Courses student 1000 bought through [`TestApp::sandbox_sale`].
    sold_to_1000: std::sync::Mutex<std::collections::HashSet<i64>>,
}

/// HTTP workers of a test app unless it asks for more: many test servers
/// run at once on a few cores, and each worker is a thread with its own
/// copy of the app.
pub const TEST_HTTP_WORKERS: &str = "2";
/// Database connections of a test app unless it asks for more: enough for
/// the two workers and a background job, few enough that hundreds of test
/// servers fit into one PostgreSQL's connection limit.
pub const TEST_DB_POOL_SIZE: &str = "4";

/// Settings for tests of races (limits, idempotency, duplicates): as many
/// workers and connections as a production server, so that racing
/// requests really run side by side in PostgreSQL.
pub const RACE_SETTINGS: [(&str, &str); 2] = [("SKILLPAY_HTTP_WORKERS", "8"), ("SKILLPAY_DB_POOL_SIZE", "20")];

/// Starts the app on a free port over a fresh database, with
/// [`TEST_HTTP_WORKERS`] workers and [`TEST_DB_POOL_SIZE`] connections.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Like [`spawn_app`], with [`RACE_SETTINGS`].
pub async fn spawn_app_for_races() -> TestApp {
    spawn_app_with(&RACE_SETTINGS).await
}

/// Like [`spawn_app`], with extra settings (`SKILLPAY_HTTP_WORKERS` and
/// `SKILLPAY_DB_POOL_SIZE` among them for a test that needs more
/// concurrency).
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    spawn_app_with_gateways(extra, Vec::new()).await
}

/// Like [`spawn_app_with`], with `gateways` registered besides the
/// configured ones.
pub async fn spawn_app_with_gateways(
    extra: &[(&str, &str)],
    gateways: Vec<domain::ports::GatewayDescriptor>,
) -> TestApp {
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let mut vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), db.url().to_owned()),
        ("SKILLPAY_JWT_SECRET".into(), TEST_JWT_SECRET.into()),
        ("SKILLPAY_HTTP_WORKERS".into(), TEST_HTTP_WORKERS.into()),
        ("SKILLPAY_DB_POOL_SIZE".into(), TEST_DB_POOL_SIZE.into()),
        // Tests pay through the sandbox; production leaves it off.
        ("SKILLPAY_SANDBOX".into(), "on".into()),
        // Their event receivers listen on loopback, over http; production
        // leaves it off (the tests of that rule set it `off`).
        ("SKILLPAY_EVENT_ENDPOINTS_ALLOW_PRIVATE".into(), "on".into()),
        // Without an SMTP server (tests that want one set it), messages
        // would be files: never in the working tree.
        ("SKILLPAY_MAIL_DIR".into(), std::env::temp_dir().join("skillpay-test-mail").display().to_string()),
    ];
    vars.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    // Extra settings win over the defaults above.
    let config = Config::from_vars(|name| vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap();
    let store = app::connect(&config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = app::app_state_with_gateways(&config, store.clone(), gateways).unwrap();
    let server =
        app::start_server_with_tls(state.clone(), listener, config.shutdown_timeout_secs, None, config.http_workers)
            .unwrap();
    let handle = server.handle();
    tokio::spawn(server);
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        db,
        store,
        client: {
            install_tls_provider();
            reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap()
        },
        state,
        config,
        auth: AuthConfig::hs256(TEST_JWT_SECRET.as_bytes(), None),
        server: handle,
        sold_to_1000: std::sync::Mutex::default(),
    }
}

impl TestApp {
    /// A valid token for a user.
    pub fn token(&self, user_id: i64, role: Role) -> String {
        self.auth.mint(Actor::new(UserId::new(user_id), role), 3_600).unwrap()
    }

    /// A valid token for a user, with the `test_mode` claim: the holder may
    /// pay with test-mode gateways while live ones are served.
    pub fn test_mode_token(&self, user_id: i64, role: Role) -> String {
        let actor = Actor::new(UserId::new(user_id), role).with_test_mode(TestMode::Allowed);
        self.auth.mint(actor, 3_600).unwrap()
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

    /// Delivers a Stripe `event` to the webhook route, signed now with
    /// `secret` as Stripe signs; answers the HTTP status.
    pub async fn deliver_stripe_event(&self, event: &Value, secret: &str) -> u16 {
        let body = event.to_string();
        let signature = adapters_stripe::sign(body.as_bytes(), secret, chrono::Utc::now().timestamp());
        let res = self
            .request(Method::POST, "/api/payments/webhooks/stripe/", None)
            .header("Stripe-Signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        res.status().as_u16()
    }

    /// GETs.
    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token)).send().await.unwrap()
    }

    /// PUTs a catalog course priced `price` USD for instructor 100.
    /// An id no other call in this process answered: a buyer who has
    /// bought nothing yet, or a course nobody has bought (a buyer holds a
    /// course once, so a suite that buys many times uses fresh ones).
    pub fn fresh_id(&self) -> i64 {
        static NEXT: AtomicI64 = AtomicI64::new(50_000);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

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

    /// Puts course `course` at `price` USD (instructor 100) and buys it
    /// through the sandbox as student 1000, or, when 1000 bought it here
    /// already (a buyer holds a course once), as a fresh buyer; the
    /// completed payment's id.
    pub async fn sandbox_sale(&self, course: i64, price: &str) -> String {
        self.put_course(course, price, "USD").await;
        let first = self.sold_to_1000.lock().unwrap().insert(course);
        let student = self.token(if first { 1000 } else { self.fresh_id() }, Role::Student);
        let body = serde_json::json!({"course_id": course, "payment_method": "sandbox"});
        let created: Value = self.post("/api/payments/", &student, &body).await.json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let confirm = serde_json::json!({"payment_token": "sandbox_success"});
        let res = self.post(&format!("/api/payments/{id}/confirm/"), &student, &confirm).await;
        assert_eq!(res.status(), 200);
        id
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

/// A localstripe process (the Stripe stand-in from PyPI) on a free
/// loopback port, stopped when dropped.
pub struct LocalStripe {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: std::process::Child,
}

/// The Python of the project's `.venv` (where `just setup` installs the
/// test tools), or `SKILLPAY_TEST_PYTHON`.
fn venv_python() -> std::path::PathBuf {
    std::env::var("SKILLPAY_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

/// A real SMTP server (aiosmtpd from the project's `.venv`) on a loopback
/// port, storing what it receives in a Maildir; stopped when dropped.
pub struct SmtpSink {
    /// Its port.
    pub port: u16,
    /// The Maildir.
    pub dir: std::path::PathBuf,
    /// STARTTLS and AUTH, when the server requires them.
    secure: Option<SecureSmtp>,
    child: Option<std::process::Child>,
}

/// What a server requiring STARTTLS and AUTH is started with.
struct SecureSmtp {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    user: String,
    password: String,
}

impl SmtpSink {
    /// Starts a server on a free port.
    pub async fn start() -> SmtpSink {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("skillpay-smtp-{port}-{}", std::process::id()));
        let mut sink = SmtpSink { port, dir, secure: None, child: None };
        sink.restart().await;
        sink
    }

    /// Starts a server on a free port that requires STARTTLS with a
    /// certificate for `127.0.0.1` signed by a fresh certificate authority,
    /// and AUTH as `user` with `password`; answers it and the authority's
    /// PEM (for `SKILLPAY_SMTP_CA_FILE`).
    pub async fn start_secure(user: &str, password: &str) -> (SmtpSink, String) {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("skillpay-smtp-{port}-{}", std::process::id()));
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Skillpay test mail CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        // Kept beside the Maildir (outside it), removed with it.
        let files = dir.with_extension("tls");
        std::fs::create_dir_all(&files).unwrap();
        let (cert_path, key_path) = (files.join("cert.pem"), files.join("key.pem"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        let secure =
            SecureSmtp { cert: cert_path, key: key_path, user: user.to_owned(), password: password.to_owned() };
        let mut sink = SmtpSink { port, dir, secure: Some(secure), child: None };
        sink.restart().await;
        (sink, ca.pem())
    }

    /// `smtp://127.0.0.1:PORT`, for `SKILLPAY_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops the server: the port refuses connections until [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, keeping what it received.
    pub async fn restart(&mut self) {
        let python = venv_python();
        let mut command = std::process::Command::new(&python);
        match &self.secure {
            None => command
                .args([
                    "-m",
                    "aiosmtpd",
                    "-n",
                    "-l",
                    &format!("127.0.0.1:{}", self.port),
                    "-c",
                    "aiosmtpd.handlers.Mailbox",
                ])
                .arg(&self.dir),
            Some(secure) => command
                .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/smtp_sink.py"))
                .arg(self.port.to_string())
                .args([&self.dir, &secure.cert, &secure.key])
                .args([&secure.user, &secure.password]),
        };
        let child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start aiosmtpd with {}: {e}; run `just setup`", python.display()));
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not start on port {}", self.port);
    }

    /// Every message received so far, raw, oldest first.
    pub fn received(&self) -> Vec<Vec<u8>> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("new")) else { return Vec::new() };
        let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| (e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), e.path()))
            .collect();
        files.sort();
        files.into_iter().map(|(_, path)| std::fs::read(path).unwrap()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(self.dir.with_extension("tls"));
    }
}

impl LocalStripe {
    /// Starts localstripe from the project's `.venv` (installed by
    /// `just setup`) and waits until it answers.
    pub async fn start() -> LocalStripe {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let python = venv_python();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(&python)
            .arg(root.join("scripts/run_localstripe.py"))
            .arg(port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start localstripe with {}: {e}; run `just setup`", python.display()));
        let stripe = LocalStripe { base: format!("http://127.0.0.1:{port}"), child };
        let client = http_client();
        for _ in 0..200 {
            let answer = client.get(format!("{}/v1/customers", stripe.base)).bearer_auth("sk_test_local").send().await;
            if answer.is_ok() {
                return stripe;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("localstripe did not start on port {port}");
    }

    /// Registers a webhook endpoint that localstripe signs with `secret`.
    pub async fn register_webhook(&self, url: &str, secret: &str) {
        let res = http_client()
            .post(format!("{}/_config/webhooks/skillpay", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("url={url}&secret={secret}"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "webhook registration: {}", res.status());
    }

    /// A PaymentIntent as localstripe holds it.
    pub async fn retrieve_intent(&self, intent_id: &str) -> Value {
        let url = format!("{}/v1/payment_intents/{intent_id}", self.base);
        http_client().get(url).bearer_auth("sk_test_local").send().await.unwrap().json().await.unwrap()
    }

    /// Refunds `amount_minor` of a PaymentIntent the way an operator does in
    /// Stripe's dashboard (no Skillpay metadata); answers the Refund.
    pub async fn refund_in_dashboard(&self, intent_id: &str, amount_minor: i64) -> Value {
        let res = http_client()
            .post(format!("{}/v1/refunds", self.base))
            .bearer_auth("sk_test_local")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("payment_intent={intent_id}&amount={amount_minor}"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "dashboard refund: {}", res.status());
        res.json().await.unwrap()
    }

    /// Pays a PaymentIntent the way a browser with Stripe.js would:
    /// attach the payment method, then confirm.
    pub async fn confirm_as_browser(&self, intent_id: &str, payment_method: &str) -> reqwest::Response {
        let client = http_client();
        let url = format!("{}/v1/payment_intents/{intent_id}", self.base);
        let attached = client
            .post(&url)
            .bearer_auth("sk_test_local")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("payment_method={payment_method}"))
            .send()
            .await
            .unwrap();
        assert!(attached.status().is_success(), "attaching the payment method: {}", attached.status());
        client.post(format!("{url}/confirm")).bearer_auth("sk_test_local").send().await.unwrap()
    }
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// reqwest is built without a default TLS provider (see the Stripe
/// adapter): install ring's before making a client.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A plain HTTP client for talking to stand-ins.
fn http_client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::new()
}
