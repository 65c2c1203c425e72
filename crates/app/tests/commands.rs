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
