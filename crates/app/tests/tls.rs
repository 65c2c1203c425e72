//! The optional TLS listener: HTTPS with the configured certificate, HSTS
//! on every answer; a key that does not match its certificate is refused at
//! start-up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;

use adapters_postgres::testing::TestDb;

#[tokio::test]
async fn https_is_served_with_the_configured_certificate_and_hsts() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = std::env::temp_dir().join(format!("skillpay-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, issued.cert.pem()).unwrap();
    std::fs::write(&key_file, issued.signing_key.serialize_pem()).unwrap();

    let db = tokio::task::spawn_blocking(TestDb::new).await.unwrap();
    let vars = [
        ("DATABASE_URL", db.url().to_owned()),
        ("SKILLPAY_JWT_SECRET", "tls-test-jwt-secret-of-at-least-32-bytes".to_owned()),
        ("SKILLPAY_TLS_CERT_FILE", cert_file.display().to_string()),
        ("SKILLPAY_TLS_KEY_FILE", key_file.display().to_string()),
    ];
    let config = app::Config::from_vars(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).unwrap();
    let (cert, key) = config.tls_files.clone().unwrap();
    let tls = app::tls::server_config(&cert, &key).unwrap();
    let state = app::app_state(&config, app::connect(&config).unwrap()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = app::start_server_with_tls(state, listener, 5, Some(tls), 2).unwrap();
    let handle = server.handle();
    tokio::spawn(server);

    let trusted = reqwest::Certificate::from_pem(issued.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder().add_root_certificate(trusted).build().unwrap();
    let res = client.get(format!("https://localhost:{port}/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["strict-transport-security"], app::tls::HSTS);
    // Plain HTTP on the TLS port gets no answer.
    assert!(
        reqwest::get(format!("http://localhost:{port}/healthz")).await.map(|r| r.status().as_u16()).unwrap_or(0) != 200
    );

    // A key of another certificate is refused before serving.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(&key_file, other.signing_key.serialize_pem()).unwrap();
    assert!(app::tls::server_config(&cert_file, &key_file).is_err());
    handle.stop(false).await;
    std::fs::remove_dir_all(&dir).unwrap();
}
