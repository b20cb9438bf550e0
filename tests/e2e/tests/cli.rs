//! The admin CLI's `webhook` command against the running worker: for every provider, the
//! message it builds and signs with the dev dataset's secret is acknowledged and reaches the
//! agent runtime as an envelope; a wrong `--secret` fails with the worker's 401.
//!
//! The CLI runs as a user runs it: from the repository root (so it finds
//! `seed/dev-dataset.json` itself), with `--base` pointing at this suite's worker. Its binary is
//! built once by [`channel_edge_e2e::cli::admin_cli`].

use crate::ingress::{deliveries_matching, unique};
use crate::Env;
use channel_edge_e2e::cli::admin_cli;
use channel_edge_e2e::repo_root;
use libtest_mimic::Failed;
use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;

tests![
    cli_webhook_slack_is_delivered,
    cli_webhook_telegram_is_delivered,
    cli_webhook_whatsapp_is_delivered,
    cli_webhook_discord_is_delivered,
    cli_webhook_standard_is_delivered,
    cli_webhook_teams_and_google_chat_are_signed_with_the_dev_key_set,
    cli_webhook_with_a_wrong_secret_exits_non_zero_with_the_workers_401,
];

/// What one provider's test sends to and expects.
struct Case {
    provider: &'static str,
    /// The seeded `ref` of what `--to` names (an app profile or an installation).
    to: &'static str,
    /// The seeded installation the envelope must name.
    installation: &'static str,
    agent: &'static str,
    /// The status line the worker acknowledges with.
    status: &'static str,
}

/// Runs `channel-edge-admin webhook <args>` from the repository root against this worker.
fn webhook(env: &Env, args: &[&str]) -> Result<Output, Failed> {
    let base = env.worker.url("");
    let output = Command::new(admin_cli()?)
        .current_dir(repo_root())
        .env_remove("EDGE")
        .arg("webhook")
        .args(args)
        .args(["--base", &base])
        .output()?;
    Ok(output)
}

/// The CLI's stdout, stderr and exit status, for failure messages.
fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Sends a text message as `case.provider` with the CLI, and checks the acknowledgement and
/// the envelope the runtime receives.
fn delivered(env: &Env, case: &Case) -> Result<(), Failed> {
    let text = format!("from the CLI, {} {}", case.provider, unique());
    let output = webhook(
        env,
        &[case.provider, "--to", env.id(case.to), "--text", &text],
    )?;
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with(case.status), "{}", describe(&output));

    // Generous: it returns as soon as the envelope arrives (a full suite keeps the queue busy).
    let envelopes = deliveries_matching(env, 1, Duration::from_secs(30), |envelope| {
        envelope["text"]
            .as_str()
            .is_some_and(|t| t.ends_with(&text))
    });
    assert_eq!(envelopes.len(), 1, "{}", describe(&output));
    let envelope = &envelopes[0];
    assert_eq!(envelope["provider"], case.provider);
    assert_eq!(envelope["installation_id"], env.id(case.installation));
    assert_eq!(envelope["agent_id"], case.agent);
    let event_id = envelope["provider_event_id"].as_str().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(event_id),
        "the CLI names the event it sent: {stderr}"
    );
    Ok(())
}

fn cli_webhook_slack_is_delivered(env: &Env) -> Result<(), Failed> {
    delivered(
        env,
        &Case {
            provider: "slack",
            to: "slack_platform",
            installation: "acme_slack",
            agent: "agent_support",
            status: "200 OK",
        },
    )
}

fn cli_webhook_telegram_is_delivered(env: &Env) -> Result<(), Failed> {
    delivered(
        env,
        &Case {
            provider: "telegram",
            to: "acme_telegram",
            installation: "acme_telegram",
            agent: "agent_support",
            status: "200 OK",
        },
    )
}

fn cli_webhook_whatsapp_is_delivered(env: &Env) -> Result<(), Failed> {
    delivered(
        env,
        &Case {
            provider: "whatsapp",
            to: "whatsapp",
            installation: "acme_whatsapp",
            agent: "agent_support",
            status: "200 OK",
        },
    )
}

fn cli_webhook_discord_is_delivered(env: &Env) -> Result<(), Failed> {
    delivered(
        env,
        &Case {
            provider: "discord",
            to: "discord",
            installation: "acme_discord",
            agent: "agent_support",
            status: "200 OK\n{\"type\":5}",
        },
    )
}

fn cli_webhook_standard_is_delivered(env: &Env) -> Result<(), Failed> {
    delivered(
        env,
        &Case {
            provider: "standard",
            to: "acme_standard",
            installation: "acme_standard",
            agent: "agent_ops",
            status: "204 No Content",
        },
    )
}

/// Teams and Google Chat tokens signed with the dev key set's key, which this suite's worker
/// fetches as the Bot Framework's and Chat's key sets (as `scripts/run.sh --fake-providers`'s).
fn cli_webhook_teams_and_google_chat_are_signed_with_the_dev_key_set(
    env: &Env,
) -> Result<(), Failed> {
    for (provider, to, installation) in [
        ("teams", "teams", "acme_teams"),
        ("google_chat", "google_chat", "acme_google_chat"),
    ] {
        delivered(
            env,
            &Case {
                provider,
                to,
                installation,
                agent: "agent_support",
                status: "200 OK",
            },
        )?;
    }
    Ok(())
}

fn cli_webhook_with_a_wrong_secret_exits_non_zero_with_the_workers_401(
    env: &Env,
) -> Result<(), Failed> {
    let text = format!("forged by the CLI {}", unique());
    let to = env.id("slack_platform");
    let args = ["slack", "--to", to, "--text", &text, "--secret", "not-it"];
    let output = webhook(env, &args)?;
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (status, body) = stdout.split_once('\n').unwrap_or_default();
    assert_eq!(status, "401 Unauthorized", "{}", describe(&output));
    let body: Value = serde_json::from_str(body.trim())?;
    assert_eq!(body["error"]["code"], "bad_signature", "{body}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not accepted"), "{stderr}");
    let delivered = deliveries_matching(env, 1, Duration::from_secs(2), |envelope| {
        envelope["text"] == text.as_str()
    });
    assert!(delivered.is_empty(), "a forged message was delivered");
    Ok(())
}
