//! Invariants of the workspace's shape, checked as tests.

use std::process::Command;

use crate::harness::workspace_root;

/// The crates `package` is built from (its normal and build dependencies, itself included), as
/// `cargo tree` lists them.
fn crates_of(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "tree",
            "--offline",
            "--locked",
            "-p",
            package,
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
    let crates: Vec<String> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    assert!(crates.iter().any(|c| c == package), "{tree}");
    crates
}

/// The domain crate is pure: `cargo tree` shows neither tokio nor async-nats under it.
#[test]
fn the_domain_crate_depends_on_neither_tokio_nor_async_nats() {
    let crates = crates_of("accord-domain");
    assert!(
        crates.iter().any(|c| c == "sha2"),
        "the tree lists dependencies: {crates:?}"
    );
    for forbidden in ["tokio", "async-nats", "sled", "mio"] {
        assert!(
            !crates.iter().any(|c| c == forbidden),
            "accord-domain depends on {forbidden}: {crates:?}"
        );
    }
}

/// The product binary carries no development tool: the test harness is not built into it, and
/// the benchmark and the generator are `accord-dev`'s commands, not `accord`'s.
#[test]
fn the_product_binary_carries_no_development_tool() {
    let crates = crates_of("accord");
    assert!(
        crates.iter().any(|c| c == "accord-ledger"),
        "the tree lists dependencies: {crates:?}"
    );
    for forbidden in ["nats-process", "accord-dev"] {
        assert!(
            !crates.iter().any(|c| c == forbidden),
            "accord depends on {forbidden}: {crates:?}"
        );
    }
    for tool in ["bench", "gen"] {
        let (code, _, err) = crate::app::accord(&[tool]);
        assert_eq!(code, 2, "accord {tool}: {err}");
        assert!(err.contains("unrecognized subcommand"), "{err}");
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

/// deploy/compose.yaml follows the Compose specification's JSON schema (`tests/compose-spec`),
/// and it runs what the deployment docs describe: a 3-node NATS cluster, the ledger and the
/// projector each serving HTTPS with tokens on a mapped port, and their commands parse.
#[test]
fn the_compose_file_follows_the_specification_and_the_deployment_docs() {
    let root = workspace_root();
    let out = Command::new(crate::analytics::python())
        .arg(root.join("tests/python/check_compose.py"))
        .arg(root.join("deploy/compose.yaml"))
        .arg(root.join("tests/compose-spec/compose-spec.json"))
        .output()
        .expect("run the check");
    assert!(
        out.status.success(),
        "deploy/compose.yaml: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let compose: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the file as JSON");
    let services = compose["services"].as_object().expect("services");
    for node in ["nats-1", "nats-2", "nats-3"] {
        assert!(services.contains_key(node), "{node} in {services:?}");
    }
    for (service, command, port) in [
        ("ledger", "ledger", "7480"),
        ("projector", "projector", "7481"),
    ] {
        let s = &compose["services"][service];
        let env = &s["environment"];
        assert_eq!(
            env["ACCORD_HTTP"],
            format!("0.0.0.0:{port}"),
            "{service} serves other hosts"
        );
        for key in [
            "ACCORD_TOKENS",
            "ACCORD_TLS_CERT",
            "ACCORD_TLS_KEY",
            "ACCORD_NATS_CA",
        ] {
            assert!(env[key].is_string(), "{service} sets {key}: {s}");
        }
        assert_eq!(
            env["ACCORD_SERVER"],
            format!("https://localhost:{port}"),
            "{service}'s health check"
        );
        assert_eq!(
            s["ports"],
            serde_json::json!([format!("{port}:{port}")]),
            "{service}"
        );
        let args: Vec<&str> = s["command"]
            .as_array()
            .expect("a command")
            .iter()
            .filter_map(serde_json::Value::as_str)
            .collect();
        assert_eq!(args.first(), Some(&command), "{service}");
        let help = Command::new(crate::app::accord_bin())
            .args(&args)
            .arg("--help")
            .output()
            .expect("run accord");
        assert!(
            help.status.success(),
            "{service}: accord {args:?}: {}",
            String::from_utf8_lossy(&help.stderr)
        );
    }
    let dockerfile =
        std::fs::read_to_string(root.join("deploy/Dockerfile")).expect("the Dockerfile");
    assert!(dockerfile.contains("EXPOSE 7480 7481"), "{dockerfile}");
    assert!(
        dockerfile.contains(r#"CMD ["accord", "health""#),
        "{dockerfile}"
    );
}
