//! The dependency rule: `domain`, `web-ports` and `representations` (the
//! objects' JSON forms) stay pure, `domain` knows nothing of the web
//! adapters, and `api-actix` knows no adapter. The test suite fails when a
//! pure crate gains a normal (non-dev) dependency on a database, HTTP or
//! async-runtime crate, directly or through another crate, when `domain`
//! reaches `web-ports`, or when the web adapters' types come back into
//! `domain`'s source.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Crates that do I/O or own a runtime; neither `domain` nor `web-ports`
/// may reach any of them.
const FORBIDDEN: [&str; 12] = [
    "diesel",
    "pq-sys",
    "r2d2",
    "actix-web",
    "actix-rt",
    "actix-server",
    "hyper",
    "reqwest",
    "tokio",
    "mio",
    "sqlx",
    "async-std",
];

/// Names of the packages `package` reaches through normal edges, every
/// feature enabled, on this host.
fn normal_dependencies(package: &str, depth: Option<u32>) -> HashSet<String> {
    let mut args = vec![
        "tree",
        "--offline",
        "--all-features",
        "-e",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
        "-p",
        package,
    ];
    let depth = depth.map(|d| d.to_string());
    if let Some(depth) = &depth {
        args.extend(["--depth", depth]);
    }
    let output = Command::new(env!("CARGO"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn the_domain_crate_depends_on_no_io_or_runtime_crate() {
    let reached = normal_dependencies("domain", None);
    assert!(reached.contains("rust_decimal"), "the walk found domain's own dependencies: {reached:?}");
    let offending: Vec<_> = FORBIDDEN.iter().filter(|name| reached.contains(**name)).collect();
    assert!(offending.is_empty(), "domain reaches I/O crates: {offending:?}");
}

#[test]
fn the_web_ports_crate_depends_on_no_io_or_runtime_crate() {
    let reached = normal_dependencies("web-ports", None);
    assert!(reached.contains("domain"), "the walk found web-ports' own dependencies: {reached:?}");
    let offending: Vec<_> = FORBIDDEN.iter().filter(|name| reached.contains(**name)).collect();
    assert!(offending.is_empty(), "web-ports reaches I/O crates: {offending:?}");
}

#[test]
fn the_domain_crate_does_not_reach_the_web_ports() {
    let reached = normal_dependencies("domain", None);
    assert!(reached.contains("rust_decimal"), "the walk found domain's own dependencies: {reached:?}");
    assert!(!reached.contains("web-ports"), "domain reaches web-ports");
}

/// Names of the web adapters' own types and concepts (compared in lower
/// case): the console's sessions and CSRF tokens, its audit entries, and
/// HTTP answers kept for replay. They live in `web-ports`.
const WEB_ONLY_WORDS: [&str; 8] = [
    "storedresponse",
    "idempotencystore",
    "idempotencybegin",
    "consolesession",
    "consolestore",
    "auditentry",
    "csrf",
    "webhooklogstatus",
];

/// Every `.rs` and `.toml` file under `dir`.
fn source_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs" || ext == "toml") {
            found.push(path);
        }
    }
}

#[test]
fn the_domain_source_names_no_web_adapter_type() {
    let mut files = Vec::new();
    source_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/domain"), &mut files);
    assert!(files.iter().any(|file| file.ends_with("src/ports.rs")), "the walk found domain's source: {files:?}");
    let offending: Vec<_> = files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).unwrap().to_lowercase();
            WEB_ONLY_WORDS.iter().filter(move |word| text.contains(**word)).map(move |word| (file.clone(), *word))
        })
        .collect();
    assert!(offending.is_empty(), "domain names web adapter types (they belong in web-ports): {offending:?}");
}

#[test]
fn the_representations_crate_depends_on_no_io_or_runtime_crate() {
    let reached = normal_dependencies("representations", None);
    assert!(
        reached.contains("domain") && reached.contains("utoipa"),
        "the walk found its own dependencies: {reached:?}"
    );
    let offending: Vec<_> = FORBIDDEN.iter().filter(|name| reached.contains(**name)).collect();
    assert!(offending.is_empty(), "representations reaches I/O crates: {offending:?}");
}

#[test]
fn the_documents_crate_depends_on_no_io_or_runtime_crate() {
    let reached = normal_dependencies("documents", None);
    assert!(
        reached.contains("domain") && reached.contains("pdf-writer"),
        "the walk found its own dependencies: {reached:?}"
    );
    let offending: Vec<_> = FORBIDDEN.iter().filter(|name| reached.contains(**name)).collect();
    assert!(offending.is_empty(), "documents reaches I/O crates: {offending:?}");
}

#[test]
fn the_api_crate_depends_on_no_adapter() {
    let direct = normal_dependencies("api-actix", Some(1));
    assert!(direct.contains("domain"));
    for adapter in [
        "adapters-postgres",
        "adapters-sandbox",
        "adapters-stripe",
        "adapters-paypal",
        "adapters-events",
        "app",
        "diesel",
    ] {
        assert!(!direct.contains(adapter), "api-actix depends on {adapter}");
    }
}
