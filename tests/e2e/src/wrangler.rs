//! A real `wrangler dev` with throwaway state.

use crate::{free_port, repo_root};
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long `wrangler dev` may take to answer its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How many lines of wrangler's log an error message carries.
const LOG_TAIL_LINES: usize = 40;

/// Why the harness could not give a test a running worker.
#[derive(Debug)]
pub struct StartError {
    what: String,
    log_tail: Option<String>,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wrangler dev: {}", self.what)?;
        if let Some(tail) = &self.log_tail {
            write!(f, "\n--- last lines of wrangler's log ---\n{tail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StartError {}

fn error(what: impl Into<String>) -> StartError {
    StartError {
        what: what.into(),
        log_tail: None,
    }
}

/// A running `wrangler dev`. Dropping it stops wrangler and workerd and deletes the state.
pub struct WranglerDev {
    child: Child,
    base_url: String,
    log_path: PathBuf,
    /// The local D1, queue and Durable Object state; deleted on drop.
    state: Option<tempfile::TempDir>,
    /// A variant of wrangler.toml this worker runs with, if not the repository's own; held only
    /// so that it is deleted on drop.
    _config: Option<tempfile::NamedTempFile>,
}

impl WranglerDev {
    /// Migrates a fresh local D1 in a temporary folder, then serves the prebuilt Worker on a free
    /// port with `vars` overriding `[vars]` (for example service URLs pointing at fakes).
    pub fn start(vars: &[(&str, String)]) -> Result<Self, StartError> {
        Self::start_with_config(vars, &[])
    }

    /// Like [`WranglerDev::start`], with wrangler.toml changed by `edits`: each `(from, to)`
    /// replaces text that must occur in it exactly once. This is how a test runs the worker
    /// with a queue setting changed (`max_retries`) or a binding removed.
    pub fn start_with_config(
        vars: &[(&str, String)],
        edits: &[(&str, &str)],
    ) -> Result<Self, StartError> {
        let root = repo_root();
        require_build(&root)?;
        let state = tempfile::Builder::new()
            .prefix("channel-edge-e2e-")
            .tempdir()
            .map_err(|e| error(format!("cannot create a state folder: {e}")))?;
        migrate(&root, state.path())?;
        seed_root_principal(&root, state.path())?;
        let config = match edits {
            [] => None,
            edits => Some(edited_config(&root, edits)?),
        };
        Self::launch(state, config, vars)
    }

    /// Stops this worker and serves again on the same state (D1, queues, Durable Objects) with
    /// `vars` and the repository's wrangler.toml: how a test changes secrets such as the master
    /// key ring, or puts back what [`WranglerDev::start_with_config`] took away.
    pub fn restart(mut self, vars: &[(&str, String)]) -> Result<Self, StartError> {
        self.stop();
        let state = self.state.take().expect("a running worker has its state");
        Self::launch(state, None, vars)
    }

    fn launch(
        state: tempfile::TempDir,
        config: Option<tempfile::NamedTempFile>,
        vars: &[(&str, String)],
    ) -> Result<Self, StartError> {
        let root = repo_root();
        let port = free_port().map_err(|e| error(format!("no free port: {e}")))?;
        let inspector_port = free_port().map_err(|e| error(format!("no free port: {e}")))?;
        let log_path = state.path().join("wrangler.log");
        let log = File::create(&log_path).map_err(|e| error(format!("cannot create log: {e}")))?;
        let mut command = wrangler(&root);
        command
            .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--inspector-port", &inspector_port.to_string()])
            .arg("--persist-to")
            .arg(state.path())
            .arg("--show-interactive-dev-session=false")
            // `GET /__scheduled` runs the cron handler (housekeeping) on demand.
            .arg("--test-scheduled");
        if let Some(config) = &config {
            command.arg("--config").arg(config.path());
        }
        // The dev secrets (.dev.vars.example), this worker's own origin as PUBLIC_BASE_URL (the
        // links it hands out), then the caller's overrides.
        let origin = (
            "PUBLIC_BASE_URL".to_owned(),
            format!("http://127.0.0.1:{port}"),
        );
        let overrides = vars
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()));
        let all = dev_secrets(&root)
            .into_iter()
            .chain([origin])
            .chain(overrides);
        for (name, value) in all {
            command.arg("--var").arg(format!("{name}:{value}"));
        }
        let child = command
            .env("CHANNEL_EDGE_PREBUILT", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| error(e.to_string()))?)
            .stderr(log)
            // Its own process group, so stopping it also stops workerd, which wrangler spawns.
            .process_group(0)
            .spawn()
            .map_err(|e| error(format!("cannot spawn wrangler: {e}")))?;

        let mut dev = WranglerDev {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            log_path,
            state: Some(state),
            _config: config,
        };
        dev.wait_until_ready()?;
        Ok(dev)
    }

    /// `http://127.0.0.1:<port>` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The folder holding the local D1, queue and Durable Object state.
    pub fn state_dir(&self) -> &Path {
        self.state
            .as_ref()
            .expect("a running worker has its state")
            .path()
    }

    /// Runs SQL against the local D1 behind the worker's back (to tamper with rows in tests).
    pub fn d1_execute(&self, sql: &str) -> Result<(), StartError> {
        run_wrangler(
            &repo_root(),
            &[
                "d1",
                "execute",
                "DB",
                "--local",
                "--command",
                sql,
                "--persist-to",
            ],
            self.state_dir(),
        )
    }

    /// Runs a query against the local D1 behind the worker's back and returns its rows.
    pub fn d1_query(&self, sql: &str) -> Result<Vec<serde_json::Value>, StartError> {
        query(
            wrangler(&repo_root())
                .args(["d1", "execute", "DB", "--local", "--json", "--command", sql])
                .arg("--persist-to")
                .arg(self.state_dir()),
        )
    }

    /// The last lines wrangler and the worker printed (the worker's `console` output lands here).
    pub fn log_tail(&self) -> String {
        tail(&self.log_path, LOG_TAIL_LINES)
    }

    /// Everything wrangler and the worker printed so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    fn wait_until_ready(&mut self) -> Result<(), StartError> {
        let started = Instant::now();
        let agent = crate::http::agent(Duration::from_secs(2));
        loop {
            // Any HTTP answer means workerd is serving; /healthz content is for the tests to judge.
            if agent.get(self.url("/healthz")).call().is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.failure(format!("exited before it was ready ({status})")));
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(self.failure(format!(
                    "not answering on {} after {READY_TIMEOUT:?}",
                    self.base_url
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn failure(&self, what: String) -> StartError {
        StartError {
            what,
            log_tail: Some(self.log_tail()),
        }
    }
}

impl WranglerDev {
    /// Stops wrangler and workerd: the whole process group, SIGTERM then SIGKILL.
    fn stop(&mut self) {
        let group = -(self.child.id() as i32);
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is touched.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (workerd outlives a slow wrangler) is killed outright.
        // SAFETY: as above.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for WranglerDev {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A local D1 alone (no worker), with throwaway state, migrated with the migrations a test
/// chooses: how a migration is tested on a database that already holds data.
pub struct LocalD1 {
    state: tempfile::TempDir,
    migrations: tempfile::TempDir,
    config: tempfile::NamedTempFile,
}

impl LocalD1 {
    /// An empty local D1 whose migrations folder is empty too.
    pub fn new() -> Result<Self, StartError> {
        let root = repo_root();
        let folder = |prefix: &str| {
            tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .map_err(|e| error(format!("cannot create a folder: {e}")))
        };
        let (state, migrations) = (
            folder("channel-edge-d1-")?,
            folder("channel-edge-migrations-")?,
        );
        let dir = format!(
            "migrations_dir = {:?}",
            migrations.path().display().to_string()
        );
        let config = edited_config(&root, &[("migrations_dir = \"migrations\"", &dir)])?;
        Ok(LocalD1 {
            state,
            migrations,
            config,
        })
    }

    /// Copies the repository's migrations `names` (file names in `migrations/`) in and applies
    /// every one not applied yet.
    pub fn migrate(&self, names: &[&str]) -> Result<(), StartError> {
        for name in names {
            std::fs::copy(
                repo_root().join("migrations").join(name),
                self.migrations.path().join(name),
            )
            .map_err(|e| error(format!("cannot copy migration {name}: {e}")))?;
        }
        self.wrangler(&["d1", "migrations", "apply", "DB", "--local"])
    }

    /// Runs `sql`.
    pub fn execute(&self, sql: &str) -> Result<(), StartError> {
        self.wrangler(&["d1", "execute", "DB", "--local", "--command", sql])
    }

    /// Runs a query and returns its rows.
    pub fn query(&self, sql: &str) -> Result<Vec<serde_json::Value>, StartError> {
        query(
            wrangler(&repo_root())
                .args(["d1", "execute", "DB", "--local", "--json", "--command", sql])
                .arg("--config")
                .arg(self.config.path())
                .arg("--persist-to")
                .arg(self.state.path()),
        )
    }

    fn wrangler(&self, args: &[&str]) -> Result<(), StartError> {
        let config = self.config.path().display().to_string();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--config", &config, "--persist-to"]);
        run_wrangler(&repo_root(), &all, self.state.path())
    }
}

/// Runs `wrangler d1 execute … --json` and returns the rows it printed.
fn query(command: &mut Command) -> Result<Vec<serde_json::Value>, StartError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| error(format!("cannot run wrangler d1 execute: {e}")))?;
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        error(format!(
            "wrangler d1 execute --json printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        ))
    })?;
    Ok(parsed[0]["results"].as_array().cloned().unwrap_or_default())
}

/// `node_modules/.bin/wrangler` with telemetry off. Node >= 22.12 must be first on PATH, which
/// `scripts/test.sh` arranges.
fn wrangler(root: &Path) -> Command {
    let mut command = Command::new(root.join("node_modules/.bin/wrangler"));
    command
        .current_dir(root)
        .env("WRANGLER_SEND_METRICS", "false");
    command
}

/// wrangler.toml with `edits` applied, written beside it (paths in it are relative to it) as
/// `.wrangler-e2e-*.toml` (git-ignored), deleted when dropped. Each `(from, to)` replaces text
/// that must occur exactly once.
pub fn edited_config(
    root: &Path,
    edits: &[(&str, &str)],
) -> Result<tempfile::NamedTempFile, StartError> {
    let original = std::fs::read_to_string(root.join("wrangler.toml"))
        .map_err(|e| error(format!("cannot read wrangler.toml: {e}")))?;
    let edited = apply_edits(&original, edits).map_err(error)?;
    let mut file = tempfile::Builder::new()
        .prefix(".wrangler-e2e-")
        .suffix(".toml")
        .tempfile_in(root)
        .map_err(|e| error(format!("cannot write a test config: {e}")))?;
    std::io::Write::write_all(&mut file, edited.as_bytes())
        .map_err(|e| error(format!("cannot write a test config: {e}")))?;
    Ok(file)
}

/// `text` with each `(from, to)` replaced; `from` must occur exactly once.
fn apply_edits(text: &str, edits: &[(&str, &str)]) -> Result<String, String> {
    edits.iter().try_fold(text.to_owned(), |text, (from, to)| {
        match text.matches(from).count() {
            1 => Ok(text.replacen(from, to, 1)),
            n => Err(format!("wrangler.toml has {n} copies of {from:?}, not one")),
        }
    })
}

fn require_build(root: &Path) -> Result<(), StartError> {
    if !root.join("node_modules/.bin/wrangler").exists() {
        return Err(error(
            "node_modules/.bin/wrangler is missing: run scripts/test.sh, which installs it",
        ));
    }
    if !root.join("build/index.js").exists() {
        return Err(error(
            "build/index.js is missing: run scripts/build.sh (scripts/test.sh does) before the suite",
        ));
    }
    Ok(())
}

fn migrate(root: &Path, state: &Path) -> Result<(), StartError> {
    run_wrangler(
        root,
        &["d1", "migrations", "apply", "DB", "--local", "--persist-to"],
        state,
    )
}

/// Inserts the root principal (public key only) the way scripts/run.sh does.
fn seed_root_principal(root: &Path, state: &Path) -> Result<(), StartError> {
    run_wrangler(
        root,
        &[
            "d1",
            "execute",
            "DB",
            "--local",
            "--file",
            "seed/root-principal.sql",
            "--persist-to",
        ],
        state,
    )
}

/// The `NAME="value"` lines of .dev.vars.example: the dev-only secrets every local run uses.
pub fn dev_secrets(root: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root.join(".dev.vars.example")).unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| {
            (
                name.trim().to_owned(),
                value.trim().trim_matches('"').to_owned(),
            )
        })
        .collect()
}

/// Runs `wrangler <args> <state>` to completion; fails with its output.
/// Runs wrangler with `args` and then `state`. Local D1 is a SQLite file the running worker
/// writes too, so a command that finds it locked (`SQLITE_BUSY`) is tried again, a few times.
fn run_wrangler(root: &Path, args: &[&str], state: &Path) -> Result<(), StartError> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 1;
    loop {
        let output = wrangler(root)
            .args(args)
            .arg(state)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| error(format!("cannot run wrangler {}: {e}", args.join(" "))))?;
        if output.status.success() {
            return Ok(());
        }
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let locked = printed.contains("SQLITE_BUSY") || printed.contains("database is locked");
        if !locked || attempt == ATTEMPTS {
            return Err(StartError {
                what: format!("wrangler {} failed ({})", args.join(" "), output.status),
                log_tail: Some(printed),
            });
        }
        attempt += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The last `lines` lines of the file at `path` (reads at most its last 64 KiB).
fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::from("(no log)");
    };
    let length = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(64 * 1024)));
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn tail_keeps_only_the_last_lines() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        for i in 0..100 {
            writeln!(file, "line {i}").unwrap();
        }
        assert_eq!(tail(file.path(), 3), "line 97\nline 98\nline 99");
    }

    #[test]
    fn config_edits_replace_exactly_one_occurrence() {
        let text = "a = 1\nb = 2\nb = 2\n";
        assert_eq!(
            apply_edits(text, &[("a = 1", "a = 3")]).unwrap(),
            "a = 3\nb = 2\nb = 2\n"
        );
        assert!(apply_edits(text, &[("b = 2", "b = 3")])
            .unwrap_err()
            .contains("2 copies"));
        assert!(apply_edits(text, &[("c = 1", "")])
            .unwrap_err()
            .contains("0 copies"));
    }

    #[test]
    fn a_missing_log_says_so() {
        assert_eq!(tail(Path::new("/nonexistent/log"), 3), "(no log)");
    }

    #[test]
    fn a_start_error_shows_the_log_tail() {
        let message = StartError {
            what: "exited".into(),
            log_tail: Some("boom".into()),
        }
        .to_string();
        assert!(message.starts_with("wrangler dev: exited"));
        assert!(message.ends_with("--- last lines of wrangler's log ---\nboom"));
    }
}
