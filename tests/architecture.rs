//! The dependency rule: `domain` and `representations` (the objects' JSON
//! forms) stay pure and `api-actix` knows no adapter. The test suite fails
//! when either pure crate gains a normal (non-dev) dependency on a database,
//! HTTP or async-runtime crate, directly or through another crate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::process::Command;

/// Crates that do I/O or own a runtime; `domain` must reach none of them.
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
