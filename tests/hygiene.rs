//! Invariants of the workspace's shape, checked as tests.

use std::process::Command;

use crate::harness::workspace_root;

/// The domain crate is pure: `cargo tree` shows neither tokio nor async-nats under it.
#[test]
fn the_domain_crate_depends_on_neither_tokio_nor_async_nats() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "tree",
            "--offline",
            "--locked",
            "-p",
            "accord-domain",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).expect("utf-8");
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(crates.contains(&"accord-domain"), "{tree}");
    assert!(
        crates.contains(&"sha2"),
        "the tree lists dependencies: {tree}"
    );
    for forbidden in ["tokio", "async-nats", "sled", "mio"] {
        assert!(
            !crates.contains(&forbidden),
            "accord-domain depends on {forbidden}:\n{tree}"
        );
    }
}

/// The production nats-server configuration in deploy/ is valid for a current server.
#[test]
fn the_deploy_config_is_valid() {
    let bin = crate::harness::ServerVersion::Current.binary();
    let out = Command::new(&bin)
        .current_dir(workspace_root().join("deploy"))
        .args(["-t", "-c", "nats-server.conf"])
        .env("LEDGER_PASSWORD", "l")
        .env("PROJECTOR_PASSWORD", "p")
        .env("ADMIN_PASSWORD", "a")
        .output()
        .expect("run nats-server -t");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains("is valid"), "{said}");
}
