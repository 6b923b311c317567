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

/// The production nats-server configurations in deploy/ (one server, a cluster node) are valid
/// for a current server, with an environment like deploy/nats.env and real certificates.
#[test]
fn the_deploy_configs_are_valid() {
    let bin = crate::harness::ServerVersion::Current.binary();
    let ca = crate::tls::TestCa::new();
    let store = tempfile::tempdir().expect("dir");
    for config in ["nats-server.conf", "cluster/nats-node.conf"] {
        let out = Command::new(&bin)
            .current_dir(workspace_root().join("deploy"))
            .args(["-t", "-c", config])
            .envs(crate::roles::deploy_env(&ca, store.path()))
            .output()
            .expect("run nats-server -t");
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.contains("is valid"),
            "{config}: {said}"
        );
    }
}

/// Each systemd unit in deploy/ runs an `accord` command line the binary accepts: the
/// subcommand, every flag and every value parse (`--help` at the end stops before running).
#[test]
fn the_systemd_units_run_valid_accord_command_lines() {
    let dir = workspace_root().join("deploy/systemd");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("deploy/systemd") {
        let path = entry.expect("entry").path();
        let unit = std::fs::read_to_string(&path).expect("unit");
        let Some(line) = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart=/usr/local/bin/accord "))
        else {
            continue;
        };
        let args: Vec<&str> = line.split_whitespace().collect();
        let out = Command::new(crate::app::accord_bin())
            .args(&args)
            .arg("--help")
            .output()
            .expect("run accord");
        assert!(
            out.status.success(),
            "{}: accord {line}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        seen.push(args[0].to_owned());
    }
    seen.sort();
    assert_eq!(seen, ["ledger", "projector"]);
}
