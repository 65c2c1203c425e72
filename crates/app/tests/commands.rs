//! The maintenance commands run with the database's address alone: an
//! operator migrates or checks the ledger without the serving settings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use adapters_postgres::testing::TestDb;

/// `skillpay` with `args`, `DATABASE_URL` and nothing of its other settings.
fn skillpay(db: &TestDb, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_skillpay"));
    for (name, _) in std::env::vars() {
        if name.starts_with("SKILLPAY_") || name.starts_with("STRIPE_") || name.starts_with("PAYPAL_") {
            command.env_remove(name);
        }
    }
    command.args(args).env("DATABASE_URL", db.url()).env("RUST_LOG", "warn").output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn migrate_and_ledger_verify_need_only_the_database_url() {
    let db = TestDb::unmigrated();
    let migrated = skillpay(&db, &["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(stdout(&migrated).starts_with("applied "), "{migrated:?}");
    let again = skillpay(&db, &["migrate"]);
    assert_eq!(stdout(&again).trim(), "applied 0 migrations");

    let verified = skillpay(&db, &["ledger", "verify"]);
    assert!(verified.status.success(), "{verified:?}");
    assert!(stdout(&verified).starts_with("ledger ok: live 0 journals, test 0 journals"), "{verified:?}");
}

#[test]
fn the_commands_that_serve_or_sign_still_ask_for_the_jwt_secret() {
    let db = TestDb::new();
    let refused = skillpay(&db, &["demo-data"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("SKILLPAY_JWT_SECRET is not set"), "{refused:?}");
}

#[test]
fn serve_help_lists_every_setting_with_its_variable_and_never_a_secret() {
    let jwt_secret = "help-must-not-show-this-jwt-secret-value";
    let output = Command::new(env!("CARGO_BIN_EXE_skillpay"))
        .args(["serve", "--help"])
        .env("SKILLPAY_JWT_SECRET", jwt_secret)
        .env("DATABASE_URL", "postgres://user:help-db-password@host/db")
        .env("SKILLPAY_HTTP_WORKERS", "3")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let help = stdout(&output);
    for line in ["--bind <BIND>", "[env: SKILLPAY_BIND=]", "[default: 127.0.0.1:8080]", "[env: SKILLPAY_JWT_SECRET]"] {
        assert!(help.contains(line), "{line} missing from:\n{help}");
    }
    // Ordinary values are shown as set; secrets are not.
    assert!(help.contains("[env: SKILLPAY_HTTP_WORKERS=3]"), "{help}");
    assert!(!help.contains(jwt_secret) && !help.contains("help-db-password"), "{help}");
}

/// Base64 keys for the rotation test (any 32 bytes will do).
const OLD_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const NEW_KEY: &str = "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=";

fn key(byte: u8) -> [u8; 32] {
    [byte; 32]
}

fn keyed_store(db: &TestDb, current: [u8; 32], previous: &[[u8; 32]]) -> adapters_postgres::PgStore {
    adapters_postgres::PgStore::connect(db.url(), &adapters_postgres::PoolSettings::default())
        .unwrap()
        .with_keyring(adapters_postgres::Keyring::new(current, previous).unwrap())
}

#[tokio::test]
async fn reseal_moves_every_secret_to_the_new_key_so_the_previous_one_can_go() {
    use domain::ports::{EventDeliveryStore, GatewayConfigRepository};
    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let admin = domain::usecases::Actor::new(domain::ids::UserId::new(1), domain::usecases::Role::Admin);
    let old = keyed_store(&db, key(7), &[]);
    let credentials = std::collections::BTreeMap::from([("secret_key".to_owned(), "sk_test_rotated".to_owned())]);
    let config = domain::gateway_config::GatewayConfig {
        id: uuid::Uuid::now_v7(),
        provider: domain::payment::PaymentMethod::Stripe,
        mode: domain::gateway_config::GatewayMode::Test,
        is_active: true,
        credentials: domain::gateway_config::GatewayCredentials::new(credentials),
        api_base: None,
        updated_at: chrono::Utc::now(),
    };
    old.put(config, admin).await.unwrap();
    let endpoint = domain::events::EventEndpoint {
        id: domain::ids::EndpointId::from_uuid(uuid::Uuid::now_v7()),
        url: "https://platform.example.com/hooks".to_owned(),
        event_types: Vec::new(),
        livemode: true,
        active: true,
        created_at: chrono::Utc::now(),
    };
    old.create_endpoint(endpoint, "whsec_rotated".to_owned(), admin).await.unwrap();

    let reseal = |keys: &'static [(&'static str, &'static str)]| {
        let url = db.url().to_owned();
        tokio::task::spawn_blocking(move || {
            let mut command = Command::new(env!("CARGO_BIN_EXE_skillpay"));
            for (name, _) in std::env::vars() {
                if name.starts_with("SKILLPAY_") {
                    command.env_remove(name);
                }
            }
            command.args(["reseal", "--batch-size", "1"]).env("DATABASE_URL", url).env("RUST_LOG", "warn");
            command.envs(keys.iter().copied()).output().unwrap()
        })
    };
    let rotating: &[(&str, &str)] =
        &[("SKILLPAY_ENCRYPTION_KEY", NEW_KEY), ("SKILLPAY_ENCRYPTION_KEY_PREVIOUS", OLD_KEY)];
    let first = reseal(rotating).await.unwrap();
    assert!(first.status.success(), "{first:?}");
    let text = stdout(&first);
    for line in [
        "payouts.destination_encrypted: resealed 0, already current 0, failed to open 0",
        "event_endpoints.secret_sealed: resealed 1, already current 0, failed to open 0",
        "payment_gateway_configs.credentials_encrypted: resealed 1, already current 0, failed to open 0",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    let again = reseal(rotating).await.unwrap();
    assert!(stdout(&again).contains("payment_gateway_configs.credentials_encrypted: resealed 0, already current 1"));

    // The previous key is gone from the configuration: everything opens.
    let new_only = keyed_store(&db, key(9), &[]);
    let stored = new_only.active(domain::payment::PaymentMethod::Stripe).await.unwrap().unwrap();
    assert_eq!(stored.credentials.get("secret_key"), Some("sk_test_rotated"));

    // A value that no given key opens fails the run, naming its row only.
    let without_previous = reseal(&[("SKILLPAY_ENCRYPTION_KEY", OLD_KEY)]).await.unwrap();
    assert_eq!(without_previous.status.code(), Some(1), "{without_previous:?}");
    assert!(
        stdout(&without_previous)
            .contains("event_endpoints.secret_sealed: resealed 0, already current 0, failed to open 1")
    );
    let errors = String::from_utf8_lossy(&without_previous.stderr);
    assert!(errors.contains("unknown key id") && errors.contains("reseal incomplete"), "{errors}");
    assert!(!errors.contains("whsec_rotated") && !errors.contains("sk_test_rotated"), "{errors}");

    let no_key = reseal(&[]).await.unwrap();
    assert!(!no_key.status.success());
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("SKILLPAY_ENCRYPTION_KEY is not set"), "{no_key:?}");
}
