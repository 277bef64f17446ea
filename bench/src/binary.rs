//! Running the release binaries under test: checking that one is built,
//! running a subcommand to completion (`migrate`, `populate`, ...),
//! starting a server with its output in a log file, waiting until it is
//! ready, and stopping it. Every wait is bounded.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// How long a subcommand such as `migrate` or `populate` may take.
const TASK_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a killed process may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// One release binary and the environment every run of it gets.
#[derive(Debug, Clone)]
pub struct Binary {
    name: String,
    path: PathBuf,
    rust_log: &'static str,
    isolated: bool,
}

impl Binary {
    /// `bin_dir/name`, logging JSON at `rust_log`; an error says how to
    /// build it if it is missing.
    pub fn find(bin_dir: &Path, name: &str, rust_log: &'static str) -> anyhow::Result<Self> {
        let path = bin_dir.join(name);
        if !path.is_file() {
            bail!(
                "{} not found: run cargo build --release --bins first (or pass --bin-dir)",
                path.display()
            );
        }
        Ok(Self {
            name: name.to_owned(),
            path,
            rust_log,
            isolated: false,
        })
    }

    /// Runs it without the benchmark's own environment: only `PATH`,
    /// `HOME` and `TMPDIR` pass through, besides what each run sets.
    pub fn isolated(mut self) -> Self {
        self.isolated = true;
        self
    }

    /// The command `name args...` with `LOG_FORMAT=json`, `RUST_LOG` and
    /// `env`; no stdin; killed when dropped.
    pub fn command(&self, args: &[&str], env: &[(&str, String)]) -> Command {
        let mut command = Command::new(&self.path);
        command.args(args);
        if self.isolated {
            command.env_clear();
            for key in ["PATH", "HOME", "TMPDIR"] {
                if let Ok(value) = std::env::var(key) {
                    command.env(key, value);
                }
            }
        }
        command
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", self.rust_log)
            .envs(env.iter().map(|(key, value)| (*key, value)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs a subcommand to completion (bounded to 5 minutes); fails with
    /// its output unless it succeeds.
    pub async fn run(&self, args: &[&str], env: &[(&str, String)]) -> anyhow::Result<()> {
        let what = format!("{} {}", self.name, args.join(" "));
        let output = tokio::time::timeout(TASK_TIMEOUT, self.command(args, env).output())
            .await
            .with_context(|| format!("{what} took over 5 minutes"))?
            .with_context(|| format!("running {what}"))?;
        if !output.status.success() {
            bail!(
                "{what} failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Starts `name args...` with stdout and stderr appended to `log`.
    pub fn spawn(
        &self,
        args: &[&str],
        env: &[(&str, String)],
        log: &Path,
    ) -> anyhow::Result<Child> {
        let file = std::fs::File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        self.command(args, env)
            .stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file))
            .spawn()
            .with_context(|| format!("starting {} {}", self.name, args.join(" ")))
    }
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Polls `url` (a `/health/ready`) until it answers with a success whose
/// JSON body `accept`s (a body that is not JSON reads as `null`); fails if
/// `server` exits meanwhile or `within` passes.
pub async fn wait_ready(
    url: &str,
    mut server: Option<&mut Child>,
    within: Duration,
    accept: impl Fn(&serde_json::Value) -> bool,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let give_up = Instant::now() + within;
    let mut last = String::from("no answer");
    while Instant::now() < give_up {
        if let Some(server) = server.as_deref_mut()
            && let Some(status) = server.try_wait()?
        {
            bail!("the server of {url} exited during start-up ({status})");
        }
        match http.get(url).send().await {
            Ok(response) if response.status().is_success() => {
                let body = response.json().await.unwrap_or(serde_json::Value::Null);
                if accept(&body) {
                    return Ok(());
                }
                last = format!("not ready: {body}");
            }
            Ok(response) => last = response.status().to_string(),
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{url} was not ready within {within:?} (last: {last})")
}

/// Kills `child` and waits (at most 10 s) for it to exit.
pub async fn stop(mut child: Child, name: &str) {
    child.start_kill().ok();
    if tokio::time::timeout(EXIT_TIMEOUT, child.wait())
        .await
        .is_err()
    {
        eprintln!("[teardown] {name} did not exit within {EXIT_TIMEOUT:?}");
    }
}

/// Prints the last `lines` lines of a log (after a failure).
pub fn print_log_tail(log: &Path, lines: usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    if !all.is_empty() {
        eprintln!("--- last lines of {} ---", log.display());
        for line in &all[all.len().saturating_sub(lines)..] {
            eprintln!("{line}");
        }
    }
}
