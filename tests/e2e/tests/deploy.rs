//! `scripts/deploy.sh` against temporary copies of wrangler.toml (beside it, git-ignored): a
//! production-like config passes the dry run (offline, on the build `scripts/test.sh` has just
//! made: `--skip-build`), everything that must not reach Cloudflare is refused with what to
//! change, and a real deploy stops at a missing secret before it builds (with a stand-in for
//! wrangler's Cloudflare calls, `CHANNEL_EDGE_WRANGLER`). Nothing here needs the network.

use channel_edge_e2e::repo_root;
use channel_edge_e2e::wrangler::edited_config;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

const PUBLIC_BASE_URL: &str = "https://channel-edge.acme.workers.dev";
const AGENT_RUNTIME_URL: &str = "https://agents.acme.dev/inbound";
const DATABASE_ID: &str = "5f0c3a1e-8d2b-4c6f-9a7e-1b2c3d4e5f60";
const PLACEHOLDER_ID: &str = "00000000-0000-0000-0000-000000000000";

/// What a run of the script printed, and whether it succeeded.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts that the run was refused and said each of `needles` (stderr).
    fn refused_saying(&self, needles: &[&str]) {
        assert!(!self.ok, "not refused:\n{}{}", self.stdout, self.stderr);
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "no {needle:?} in:\n{}",
                self.stderr
            );
        }
    }

    /// Asserts that the run stopped before it built or ran `wrangler deploy`.
    fn stopped_before_building(&self) {
        for step in ["Build", "existing build", "wrangler deploy"] {
            assert!(!self.stdout.contains(step), "{step} ran:\n{}", self.stdout);
        }
    }
}

/// wrangler.toml's values as a production deployment would set them, with these three.
fn config_with(public: &str, runtime: &str, database: &str) -> tempfile::NamedTempFile {
    let (public, runtime) = (format!("\"{public}\""), format!("\"{runtime}\""));
    edited_config(
        &repo_root(),
        &[
            ("\"http://127.0.0.1:8787\"", &public),
            ("\"http://127.0.0.1:8790/inbound\"", &runtime),
            (PLACEHOLDER_ID, database),
        ],
    )
    .expect("a temporary config")
}

fn production() -> tempfile::NamedTempFile {
    config_with(PUBLIC_BASE_URL, AGENT_RUNTIME_URL, DATABASE_ID)
}

/// Runs `scripts/deploy.sh` with `CHANNEL_EDGE_WRANGLER_CONFIG` = `config` and `env`.
fn deploy(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new("bash")
        .arg(repo_root().join("scripts/deploy.sh"))
        .args(args)
        .env("CHANNEL_EDGE_WRANGLER_CONFIG", config)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn dry_run(config: &Path, vars: &[&str]) -> Run {
    let mut args = vec!["--dry-run", "--skip-build"];
    for var in vars {
        args.extend(["--var", var]);
    }
    deploy(config, &args, &[])
}

#[test]
fn a_production_like_config_passes_the_dry_run_offline() {
    let config = production();
    let run = dry_run(config.path(), &[]);
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("--dry-run: exiting now."),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Dry run passed"), "{}", run.stdout);
    // wrangler bundled the Worker with the checked values.
    let bound = format!("env.PUBLIC_BASE_URL (\"{PUBLIC_BASE_URL}\")");
    assert!(run.stdout.contains(&bound), "{}", run.stdout);
    assert!(run.stdout.contains("budget 576 KiB"), "the size is checked");
}

#[test]
fn a_loopback_public_base_url_is_refused() {
    let config = config_with("https://127.0.0.1:8443", AGENT_RUNTIME_URL, DATABASE_ID);
    let run = dry_run(config.path(), &[]);
    run.refused_saying(&[
        "PUBLIC_BASE_URL is \"https://127.0.0.1:8443\"",
        "its host 127.0.0.1 is a loopback address",
        "Set it to the public https origin this Worker is served at",
        "refusing to deploy",
    ]);
    run.stopped_before_building();
}

#[test]
fn an_http_agent_runtime_url_is_refused() {
    let config = config_with(
        PUBLIC_BASE_URL,
        "http://agents.acme.dev/inbound",
        DATABASE_ID,
    );
    let run = dry_run(config.path(), &[]);
    run.refused_saying(&[
        "AGENT_RUNTIME_URL is \"http://agents.acme.dev/inbound\"",
        "http:// instead of https://",
        "--var AGENT_RUNTIME_URL:https://",
    ]);
    run.stopped_before_building();
}

#[test]
fn the_placeholder_database_id_is_refused() {
    let config = config_with(PUBLIC_BASE_URL, AGENT_RUNTIME_URL, PLACEHOLDER_ID);
    let run = dry_run(config.path(), &[]);
    run.refused_saying(&[
        "database_id of the DB database",
        "is still the placeholder 00000000-0000-0000-0000-000000000000",
        "npx wrangler d1 create channel-edge",
    ]);
    run.stopped_before_building();
    let config = config_with(PUBLIC_BASE_URL, AGENT_RUNTIME_URL, "my-database");
    dry_run(config.path(), &[]).refused_saying(&["\"my-database\", not a D1 database id"]);
}

#[test]
fn the_committed_config_is_refused_with_every_problem_at_once() {
    let run = dry_run(&repo_root().join("wrangler.toml"), &[]);
    run.refused_saying(&[
        "PUBLIC_BASE_URL is \"http://127.0.0.1:8787\" (wrangler.toml [vars]): http:// instead of https://; its host 127.0.0.1 is a loopback address",
        "AGENT_RUNTIME_URL is \"http://127.0.0.1:8790/inbound\"",
        "still the placeholder",
    ]);
}

#[test]
fn var_overrides_are_checked_named_and_passed_on() {
    let config = production();
    let run = dry_run(config.path(), &["PUBLIC_BASE_URL:http://localhost:8787"]);
    run.refused_saying(&["PUBLIC_BASE_URL is \"http://localhost:8787\" (--var)"]);
    // Overrides can also fix what the file has wrong; public addresses pass.
    let config = config_with("http://127.0.0.1:8787", AGENT_RUNTIME_URL, DATABASE_ID);
    let vars = [
        "PUBLIC_BASE_URL:https://edge.acme.dev/",
        "SLACK_API_BASE_URL:https://172.32.0.1/api",
        "GRAPH_API_BASE_URL:https://[2606:4700::1]/v21.0",
    ];
    let run = dry_run(config.path(), &vars);
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    // wrangler lists a `--var` value as hidden, a `[vars]` one with its value.
    assert!(
        run.stdout.contains("env.PUBLIC_BASE_URL (\"(hidden)\")"),
        "wrangler is given the override: {}",
        run.stdout
    );
}

#[test]
fn hosts_the_providers_cannot_reach_are_refused_in_every_url_var() {
    // Every `*_URL` var is checked, and every problem is reported at once: one run covers all.
    let refused = [
        ("https://localhost", "localhost"),
        ("https://0.0.0.0", "unspecified"),
        ("https://[::1]", "loopback"),
        ("https://127.1", "loopback"),
        ("https://[::ffff:127.0.0.1]", "loopback"),
        ("https://edge.local", ".local name"),
        ("https://10.1.2.3", "private"),
        ("https://172.16.0.9", "private"),
        ("https://192.168.1.20", "private"),
        ("https://[fd12::1]", "unique local"),
        ("https://169.254.169.254", "link-local"),
        ("https://edge", "single-label"),
        ("https://edge.example.com", "documentation placeholder"),
        ("not a url", "not a URL"),
    ];
    let vars: Vec<String> = refused
        .iter()
        .enumerate()
        .map(|(i, (url, _))| format!("HOST_{i}_URL:{url}"))
        .chain(["PUBLIC_BASE_URL:https://edge.acme.dev/channel-edge".to_owned()])
        .collect();
    let config = production();
    let run = dry_run(
        config.path(),
        &vars.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for (i, (url, reason)) in refused.iter().enumerate() {
        let line = run
            .stderr
            .lines()
            .find(|line| line.contains(&format!("HOST_{i}_URL is \"{url}\"")))
            .unwrap_or_else(|| panic!("{url} not refused:\n{}", run.stderr));
        assert!(line.contains(reason), "{line}");
    }
    run.refused_saying(&[
        "PUBLIC_BASE_URL is \"https://edge.acme.dev/channel-edge\"",
        "has a path",
    ]);
}

/// A stand-in for wrangler that records its arguments in `calls` beside it and answers
/// `secret list` with `secrets` (or fails it when `secrets` is `None`).
fn fake_wrangler(dir: &Path, secrets: Option<&str>) -> std::path::PathBuf {
    let answer = match secrets {
        Some(json) => format!("echo '{json}'"),
        None => "echo 'Authentication error [code: 10000]' >&2; exit 1".to_owned(),
    };
    let script = format!(
        "#!/usr/bin/env bash\necho \"$*\" >>\"$(dirname \"$0\")/calls\"\n\
         case \"$1 $2\" in\n  'secret list') {answer} ;;\n  *) exit 3 ;;\nesac\n"
    );
    let path = dir.join("wrangler");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_deploy_stops_at_a_missing_secret_before_it_builds() {
    let config = production();
    let dir = tempfile::tempdir().unwrap();
    let listed = r#"[{"name":"MASTER_KEYS","type":"secret_text"}]"#;
    let wrangler = fake_wrangler(dir.path(), Some(listed));
    let run = deploy(
        config.path(),
        &[],
        &[("CHANNEL_EDGE_WRANGLER", wrangler.to_str().unwrap())],
    );
    run.refused_saying(&[
        "the Worker lacks the secret(s) AGENT_RUNTIME_SECRET",
        "npx wrangler secret put NAME",
    ]);
    run.stopped_before_building();
    let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
    assert!(calls.starts_with("secret list --config "), "{calls}");
    assert_eq!(
        calls.lines().count(),
        1,
        "nothing but the secret list: {calls}"
    );
}

#[test]
fn a_deploy_without_cloudflare_credentials_says_how_to_log_in() {
    let config = production();
    let dir = tempfile::tempdir().unwrap();
    let wrangler = fake_wrangler(dir.path(), None);
    let run = deploy(
        config.path(),
        &[],
        &[("CHANNEL_EDGE_WRANGLER", wrangler.to_str().unwrap())],
    );
    run.refused_saying(&["wrangler secret list failed", "CLOUDFLARE_API_TOKEN"]);
    run.stopped_before_building();
}

#[test]
fn only_a_dry_run_may_skip_the_build() {
    let config = production();
    let run = deploy(config.path(), &["--skip-build"], &[]);
    run.refused_saying(&["--skip-build is for --dry-run only"]);
}

/// `scripts/deploy-check.mjs root-principals` on `rows` (as `wrangler d1 execute --json`
/// prints them), with the toolchain's Node.
fn root_principals(rows: &str) -> Run {
    let dev_key = "DAdJDbMngbet8lmbmm46AXMNlgr4pUKi2VPYN4-Vz8E";
    let mut child = Command::new("bash")
        .arg("-c")
        .arg("source scripts/lib.sh && toolchain_env && node scripts/deploy-check.mjs root-principals \"$1\"")
        .args(["root-principals", dev_key])
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), rows.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn the_development_root_key_is_never_deployed_as_root() {
    let dev = r#"[{"results":[{"id":"prn_root","public_key":"DAdJDbMngbet8lmbmm46AXMNlgr4pUKi2VPYN4-Vz8E"}],"success":true}]"#;
    root_principals(dev).refused_saying(&["principal prn_root holds the DEV-ONLY root key"]);
    let own = r#"[{"results":[{"id":"prn_root","public_key":"b3duLWtleQ"}],"success":true}]"#;
    let run = root_principals(own);
    assert!(run.ok, "{}", run.stderr);
    assert_eq!(run.stdout.trim(), "1");
    let none = r#"[{"results":[],"success":true}]"#;
    assert_eq!(root_principals(none).stdout.trim(), "0");
}
