//! Binding sessions through the admin API, with the fake provider APIs of `Env::providers`.

use crate::ingress::{deliveries, post_telegram, telegram_update, unique};
use crate::Env;
use channel_edge_e2e::fake::{Answer, Recorded};
use channel_edge_e2e::{http, repo_root, seed};
use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

tests![
    a_telegram_token_session_completes_and_the_bot_delivers,
    a_whatsapp_token_session_completes,
    a_rejected_or_unreachable_provider_fails_the_session,
    a_cancelled_session_takes_no_credential,
    a_session_expires_on_time_without_polling,
    two_concurrent_credentials_complete_a_session_once,
    unknown_sessions_and_unavailable_methods_are_refused,
    the_binding_page_follows_a_session_live_in_chromium,
    a_forged_or_foreign_page_link_is_refused,
    a_qr_session_completes_when_its_link_is_sent_from_chat,
    a_cancelled_qr_session_retires_its_token,
    a_slack_oauth_session_completes_through_the_callback,
    wrong_reused_and_expired_oauth_states_are_refused,
];

/// Starts a `token` session for `provider` binding `agent`; returns its view.
fn start(env: &Env, provider: &str, agent: &str, timeout: u64) -> Value {
    let reply = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": provider, "method": "token", "org_id": env.id("acme"),
            "app_profile_id": env.id(provider), "timeout_seconds": timeout,
            "binding": {"agent_id": agent, "allowlist": ["31337"]}}),
        ),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let view = reply.json();
    assert_eq!(view["status"], "awaiting_channel_auth");
    view
}

fn post_credentials(env: &Env, id: &str, body: Value) -> (u16, Value) {
    let reply = env.admin(
        "POST",
        &format!("/v1/binding-sessions/{id}/credentials"),
        "bindings:write",
        Some(body),
    );
    (reply.status, reply.json())
}

fn view(env: &Env, id: &str) -> Value {
    let reply = env.admin(
        "GET",
        &format!("/v1/binding-sessions/{id}"),
        "bindings:read",
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

/// A fresh fake bot: its token and id, and the fake's answers for getMe, setWebhook and
/// getWebhookInfo (which echoes the URL last set for this token).
fn fake_bot(env: &Env) -> (String, u64) {
    let n = unique();
    let token = format!("91000{n:05}:TEST-{n}");
    let base = format!("/telegram/bot{token}");
    let bot_id = 9_100_000_000u64 + n;
    env.providers.respond(
        &format!("{base}/getMe"),
        Answer::json(
            200,
            json!({"ok": true, "result": {"id": bot_id, "is_bot": true,
                "username": format!("bound_{n}_bot")}}),
        ),
    );
    env.providers.default_response(
        &format!("{base}/setWebhook"),
        Answer::json(200, json!({"ok": true, "result": true})),
    );
    let set_path = format!("{base}/setWebhook");
    env.providers.respond_with(
        &format!("{base}/getWebhookInfo"),
        move |seen: &[Recorded]| {
            let url = seen
                .iter()
                .rev()
                .find(|r| r.url == set_path)
                .map(|r| r.json()["url"].clone())
                .unwrap_or(Value::Null);
            Answer::json(200, json!({"ok": true, "result": {"url": url}}))
        },
    );
    (token, bot_id)
}

/// Reads the session's event stream until it ends or `timeout` passes; returns the statuses
/// seen, in order.
fn follow(env: &Env, id: &str, timeout: Duration) -> Vec<String> {
    let url = env.worker.url(&format!("/v1/binding-sessions/{id}/events"));
    let events = http::events(&url, &seed::root_token("bindings:read"), timeout);
    let deadline = Instant::now() + timeout;
    let mut statuses = Vec::new();
    while let Ok(event) = events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let status = event["status"].as_str().unwrap().to_owned();
        let ended = ["completed", "failed", "expired", "cancelled"].contains(&status.as_str());
        statuses.push(status);
        if ended {
            break;
        }
    }
    statuses
}

fn a_telegram_token_session_completes_and_the_bot_delivers(env: &Env) -> Result<(), Failed> {
    let session = start(env, "telegram", "agent_bound", 120);
    let id = session["id"].as_str().unwrap().to_owned();
    assert_eq!(
        session["auth_prompt"]["data"]["fields"],
        json!(["bot_token"])
    );
    assert_eq!(session["org_name"], "Acme (dev)");
    assert_eq!(
        session["channel"],
        Value::Null,
        "not known before the token"
    );
    let (token, bot_id) = fake_bot(env);
    let statuses = std::thread::scope(|scope| {
        let follower = scope.spawn(|| follow(env, &id, Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(500));
        let (status, completed) = post_credentials(env, &id, json!({"bot_token": token}));
        assert_eq!(status, 200, "{completed}");
        assert_eq!(completed["status"], "completed", "{completed}");
        follower.join().unwrap()
    });
    assert_eq!(
        statuses,
        [
            "awaiting_channel_auth",
            "channel_authenticating",
            "channel_authenticated",
            "testing_connection",
            "completed"
        ],
        "each change arrives live"
    );

    let done = view(env, &id);
    let username = format!("bound_{}_bot", bot_id - 9_100_000_000);
    assert_eq!(done["channel"], format!("{username} ({bot_id})").as_str());
    let installation = done["outcome"]["installation_id"].as_str().unwrap();
    let set = env.providers.wait_for(1, Duration::from_secs(1), |r| {
        r.url == format!("/telegram/bot{token}/setWebhook")
    });
    let settings = set[0].json();
    assert!(settings["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/webhooks/telegram/{installation}")));
    let secret = settings["secret_token"].as_str().unwrap();
    assert!(secret.len() >= 32);
    assert!(
        !done.to_string().contains(secret),
        "the secret is not shown"
    );

    // The bot now delivers to the bound agent.
    let update_id = 600_000 + unique();
    let reply = post_telegram(
        &env.worker,
        installation,
        secret,
        &telegram_update(update_id, 31337, "hello bound agent"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let envelopes = deliveries(env, &update_id.to_string(), 1, Duration::from_secs(15));
    assert_eq!(envelopes[0]["agent_id"], "agent_bound");
    assert_eq!(envelopes[0]["binding_id"], done["outcome"]["binding_id"]);
    let by: Vec<&str> = done["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["by"].as_str().unwrap())
        .collect();
    assert_eq!(
        by[0],
        seed::ROOT_PRINCIPAL,
        "the session names who started it"
    );
    Ok(())
}

fn a_whatsapp_token_session_completes(env: &Env) -> Result<(), Failed> {
    let session = start(env, "whatsapp", "agent_bound", 120);
    let id = session["id"].as_str().unwrap();
    let n = unique();
    let (phone, waba) = (format!("11900000{n:05}"), format!("12900000{n:05}"));
    env.providers.respond(
        &format!("/graph/{phone}"),
        Answer::json(
            200,
            json!({"id": phone, "display_phone_number": "+1 555 010 9999",
                   "verified_name": "Bound Co"}),
        ),
    );
    env.providers.respond(
        &format!("/graph/{waba}/subscribed_apps"),
        Answer::json(200, json!({"success": true})),
    );
    let (status, done) = post_credentials(
        env,
        id,
        json!({"phone_number_id": phone, "waba_id": waba, "access_token": "EAAG-test"}),
    );
    assert_eq!(
        (status, done["status"].as_str()),
        (200, Some("completed")),
        "{done}"
    );
    let asked = env.providers.wait_for(1, Duration::from_secs(1), |r| {
        r.url.starts_with(&format!("/graph/{phone}?"))
    });
    assert_eq!(asked[0].header("authorization"), Some("Bearer EAAG-test"));
    let installation = env.admin(
        "GET",
        &format!(
            "/v1/installations/{}",
            done["outcome"]["installation_id"].as_str().unwrap()
        ),
        "installations:write",
        None,
    );
    assert_eq!(installation.json()["tenant_key"], phone.as_str());
    assert_eq!(
        installation.json()["metadata"]["display_phone_number"],
        "+1 555 010 9999"
    );
    Ok(())
}

fn a_rejected_or_unreachable_provider_fails_the_session(env: &Env) -> Result<(), Failed> {
    for (answer, reason) in [
        (
            Answer::json(
                401,
                json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
            ),
            "Telegram refused getMe: Unauthorized",
        ),
        (
            Answer::json(502, json!({})),
            "Telegram is unavailable (HTTP 502); try again later",
        ),
    ] {
        let session = start(env, "telegram", "agent_bound", 120);
        let id = session["id"].as_str().unwrap();
        let token = format!("92000{:05}:BAD", unique());
        env.providers
            .respond(&format!("/telegram/bot{token}/getMe"), answer);
        let (status, failed) = post_credentials(env, id, json!({"bot_token": token}));
        assert_eq!(status, 200, "{failed}");
        assert_eq!(failed["status"], "failed");
        assert_eq!(failed["failure"], reason);
        assert!(!failed.to_string().contains(&token), "no token in the view");
        assert_eq!(failed["outcome"], Value::Null);
        let (again, _) = post_credentials(env, id, json!({"bot_token": token}));
        assert_eq!(again, 409, "a failed session takes nothing more");
    }
    Ok(())
}

fn a_cancelled_session_takes_no_credential(env: &Env) -> Result<(), Failed> {
    let session = start(env, "telegram", "agent_bound", 120);
    let id = session["id"].as_str().unwrap();
    let path = format!("/v1/binding-sessions/{id}");
    let cancelled = env.admin("DELETE", &path, "bindings:write", None);
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(
        env.admin("DELETE", &path, "bindings:write", None).status,
        409
    );
    let (status, _) = post_credentials(env, id, json!({"bot_token": "1:x"}));
    assert_eq!(status, 409);
    let listed = env.admin(
        "GET",
        "/v1/binding-sessions?status=cancelled&limit=200",
        "bindings:read",
        None,
    );
    assert!(listed.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|item| item["id"] == id));
    Ok(())
}

fn a_session_expires_on_time_without_polling(env: &Env) -> Result<(), Failed> {
    let session = start(env, "telegram", "agent_bound", 2);
    let id = session["id"].as_str().unwrap().to_owned();
    // Nobody asks until the stream reports the end: the alarm expires it.
    let statuses = follow(env, &id, Duration::from_secs(20));
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("expired"),
        "{statuses:?}"
    );
    let (status, _) = post_credentials(env, &id, json!({"bot_token": "1:x"}));
    assert_eq!(status, 409);
    let active = env.admin(
        "GET",
        "/v1/binding-sessions?status=active&limit=200",
        "bindings:read",
        None,
    );
    assert!(!active.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|item| item["id"] == id.as_str()));
    Ok(())
}

fn two_concurrent_credentials_complete_a_session_once(env: &Env) -> Result<(), Failed> {
    let session = start(env, "telegram", "agent_bound", 120);
    let id = session["id"].as_str().unwrap();
    let (token, bot_id) = fake_bot(env);
    let mut statuses: Vec<u16> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| post_credentials(env, id, json!({"bot_token": token})).0))
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let done = view(env, id);
    assert_eq!(done["status"], "completed");
    let created = env.worker.d1_query(&format!(
        "SELECT COUNT(*) AS n FROM installations WHERE tenant_key = '{bot_id}'"
    ))?;
    assert_eq!(created[0]["n"], 1, "one installation");
    Ok(())
}

fn unknown_sessions_and_unavailable_methods_are_refused(env: &Env) -> Result<(), Failed> {
    let missing = env.admin(
        "GET",
        "/v1/binding-sessions/bss_00000000000000000000000000000000",
        "bindings:read",
        None,
    );
    assert_eq!(missing.status, 404);
    let slack_token = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "slack", "method": "token", "org_id": env.id("acme"),
            "app_profile_id": env.id("slack_platform"), "binding": {"agent_id": "a"}}),
        ),
    );
    assert_eq!(slack_token.status, 400, "{}", slack_token.body);
    let mismatch = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "telegram", "method": "token", "org_id": env.id("acme"),
            "app_profile_id": env.id("whatsapp"), "binding": {"agent_id": "a"}}),
        ),
    );
    assert_eq!(mismatch.status, 400, "{}", mismatch.body);
    Ok(())
}

fn the_binding_page_follows_a_session_live_in_chromium(env: &Env) -> Result<(), Failed> {
    let (session, token) = start_qr(env, "user-browser");
    let id = session["id"].as_str().unwrap();
    let page_url = session["page_url"].as_str().unwrap();
    assert!(page_url.starts_with(&env.worker.url(&format!("/bind/{id}?t="))));
    let artifacts = repo_root().join("target/e2e-artifacts");
    std::fs::create_dir_all(&artifacts)?;
    let screenshot = artifacts.join("binding-page.png");
    let _ = std::fs::remove_file(&screenshot);
    let mut browser = Command::new("node")
        .arg(repo_root().join("tests/e2e/browser/binding-page.mjs"))
        .arg(page_url)
        .arg(&screenshot)
        .current_dir(repo_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run node (scripts/test.sh puts it on PATH): {e}"))?;
    let mut lines = BufReader::new(browser.stdout.take().unwrap()).lines();
    let first = lines.next().transpose()?.unwrap_or_default();
    if first != "awaiting" {
        let output = browser.wait_with_output()?;
        return Err(format!(
            "the page never showed the waiting session and its QR code: {first} {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    // The user sends the QR code's link from Telegram while the page is open.
    telegram_start(env, 7_900_000 + unique(), &token);
    let report = lines.next().transpose()?.unwrap_or_default();
    let output = browser.wait_with_output()?;
    assert!(
        output.status.success(),
        "{report} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&report)?;
    assert_eq!(report["loads"], 1, "completed appeared without a reload");
    assert_eq!(report["status"], "completed");
    assert!(
        report["qr_width"].as_u64().unwrap() > 0,
        "the QR code was drawn"
    );
    assert_eq!(report["installation"], env.id("acme_telegram"));
    // While waiting: what is being bound, the time left, and the link as text to copy.
    let waiting = &report["waiting"];
    assert_eq!(waiting["channel"], "Telegram bot acme_dev_bot (7000000001)");
    assert_eq!(
        waiting["org"],
        format!("Acme (dev) ({})", env.id("acme")).as_str()
    );
    assert_eq!(waiting["agent"], "agent_linked");
    let left = waiting["time_left"].as_str().unwrap();
    let minutes: u64 = left.split(':').next().unwrap().parse()?;
    assert!((3..=5).contains(&minutes), "{left} of a 300 s session");
    assert_eq!(waiting["deep_link"], session["deep_link"]);
    assert_eq!(report["ended"]["time_left"], "none: the session has ended");
    assert_eq!(report["ended"]["deep_link"], Value::Null);
    assert_eq!(
        report["console_errors"],
        json!([]),
        "nothing blocked by the CSP"
    );
    assert!(
        std::fs::metadata(&screenshot)?.len() > 1000,
        "a screenshot was saved"
    );
    Ok(())
}

fn a_forged_or_foreign_page_link_is_refused(env: &Env) -> Result<(), Failed> {
    let first = start(env, "telegram", "agent_bound", 300);
    let second = start(env, "telegram", "agent_bound", 300);
    let capability = first["page_url"]
        .as_str()
        .unwrap()
        .split("?t=")
        .nth(1)
        .unwrap();
    let own = http::get(first["page_url"].as_str().unwrap());
    assert_eq!(own.status, 200);
    assert!(own.body.contains("<title>Bind a channel"));
    let foreign = http::get(&env.worker.url(&format!(
        "/bind/{}?t={capability}",
        second["id"].as_str().unwrap()
    )));
    assert_eq!(foreign.status, 403, "a link opens only its own session");
    assert!(foreign.body.contains("not valid or has expired"));
    assert!(
        foreign.body.contains("<h1>Link not valid</h1>") && foreign.body.contains("<style>"),
        "styled like the page: {}",
        foreign.body
    );
    let id = first["id"].as_str().unwrap();
    for bad in ["", "?t=", "?t=123.AAAAAAAAAAAAAAAAAAAAAA", "?t=nonsense"] {
        let reply = http::get(&env.worker.url(&format!("/bind/{id}{bad}")));
        assert_eq!(reply.status, 403, "{bad}");
        let events = http::get(&env.worker.url(&format!("/bind/{id}/events{bad}")));
        assert_eq!(events.status, 403, "{bad}");
    }
    Ok(())
}

/// Starts a `qr` session on the seeded Telegram bot for `subject`; returns its view and token.
fn start_qr(env: &Env, subject: &str) -> (Value, String) {
    let reply = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "telegram", "method": "qr", "org_id": env.id("acme"),
            "app_profile_id": env.id("telegram"), "subject": subject,
            "binding": {"agent_id": "agent_linked"}}),
        ),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let view = reply.json();
    let link = view["auth_prompt"]["data"]["deep_link"].as_str().unwrap();
    let token = link
        .strip_prefix("https://t.me/acme_dev_bot?start=")
        .unwrap_or_else(|| panic!("a deep link to the seeded bot: {link}"));
    assert!(view["auth_prompt"]["data"]["qr_svg"]
        .as_str()
        .unwrap()
        .starts_with("<svg"));
    (view.clone(), token.to_owned())
}

fn telegram_start(env: &Env, from: u64, token: &str) -> String {
    let secret = crate::ingress::dataset_secret(
        "installations",
        "acme_telegram",
        "credentials",
        "secret_token",
    );
    let update_id = 650_000 + unique();
    let reply = post_telegram(
        &env.worker,
        env.id("acme_telegram"),
        &secret,
        &telegram_update(update_id, from, &format!("/start {token}")),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    update_id.to_string()
}

fn a_qr_session_completes_when_its_link_is_sent_from_chat(env: &Env) -> Result<(), Failed> {
    let (session, token) = start_qr(env, "user-qr");
    let id = session["id"].as_str().unwrap();
    let user = 7_700_000 + unique();
    let claim = telegram_start(env, user, &token);
    let claimed = &deliveries(env, &claim, 1, Duration::from_secs(15))[0];
    assert_eq!(claimed["kind"], "install_claimed");
    assert_eq!(claimed["agent_id"], "agent_linked");
    let mut done = view(env, id);
    for _ in 0..20 {
        if done["status"] == "completed" {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        done = view(env, id);
    }
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["outcome"]["sender_id"], user.to_string());
    assert_eq!(done["outcome"]["binding_id"], claimed["binding_id"]);
    assert_eq!(done["outcome"]["installation_id"], env.id("acme_telegram"));
    Ok(())
}

fn a_cancelled_qr_session_retires_its_token(env: &Env) -> Result<(), Failed> {
    let (session, token) = start_qr(env, "user-gone");
    let id = session["id"].as_str().unwrap();
    let cancelled = env.admin(
        "DELETE",
        &format!("/v1/binding-sessions/{id}"),
        "bindings:write",
        None,
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let claim = telegram_start(env, 7_800_000 + unique(), &token);
    let rejected = &deliveries(env, &claim, 1, Duration::from_secs(15))[0];
    assert_eq!(rejected["kind"], "install_rejected");
    assert_eq!(rejected["install"]["reason"], "expired");
    assert_eq!(view(env, id)["status"], "cancelled");
    Ok(())
}

/// Starts an `oauth` session on the seeded platform Slack app; returns its view and state.
fn start_oauth(env: &Env, timeout: u64) -> (Value, String) {
    let reply = env.admin(
        "POST",
        "/v1/binding-sessions",
        "bindings:write",
        Some(
            json!({"provider": "slack", "method": "oauth", "org_id": env.id("acme"),
            "app_profile_id": env.id("slack_platform"), "timeout_seconds": timeout,
            "binding": {"agent_id": "agent_slack", "sender_policy": "open"}}),
        ),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let view = reply.json();
    let url = view["auth_prompt"]["data"]["authorize_url"]
        .as_str()
        .unwrap();
    assert!(url
        .starts_with("https://slack.com/oauth/v2/authorize?client_id=1000000000001.2000000000001"));
    let callback = format!(
        "redirect_uri={}",
        urlencode(&env.worker.url("/oauth/slack/callback"))
    );
    assert!(url.contains(&callback), "{url}");
    let state = url.split("&state=").nth(1).unwrap().to_owned();
    (view, state)
}

fn urlencode(text: &str) -> String {
    text.replace(':', "%3A").replace('/', "%2F")
}

fn callback(env: &Env, query: &str, ip: &str) -> http::Reply {
    http::send(
        "GET",
        &env.worker.url(&format!("/oauth/slack/callback?{query}")),
        &[("cf-connecting-ip", ip)],
        b"",
    )
}

fn a_slack_oauth_session_completes_through_the_callback(env: &Env) -> Result<(), Failed> {
    let (session, state) = start_oauth(env, 120);
    let id = session["id"].as_str().unwrap();
    let n = unique();
    let (code, team) = (format!("code-{n}"), format!("T0OAUTH{n}"));
    env.providers.respond_to(
        "/slack/oauth.v2.access",
        &code,
        Answer::json(200, json!({"ok": true, "access_token": format!("xoxb-{n}"),
            "team": {"id": team, "name": "OAuth Co"}, "bot_user_id": "U0BOT", "app_id": "A0DEVPLATFORM"})),
    );
    env.providers.respond(
        "/slack/auth.test",
        Answer::json(
            200,
            json!({"ok": true, "team_id": team, "user_id": "U0BOT"}),
        ),
    );
    let reply = callback(
        env,
        &format!("code={code}&state={state}"),
        &crate::unique_ip(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.contains("bound to agent agent_slack"),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("<h1>Slack workspace bound</h1>"),
        "{}",
        reply.body
    );
    let done = view(env, id);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["channel"], format!("OAuth Co ({team})").as_str());
    let exchange = env.providers.wait_for(1, Duration::from_secs(1), |r| {
        r.url == "/slack/oauth.v2.access" && String::from_utf8_lossy(&r.body).contains(&code)
    });
    let form = String::from_utf8_lossy(&exchange[0].body).into_owned();
    assert!(
        form.contains("client_secret=dev-slack-platform-client-secret"),
        "{form}"
    );
    let installation = env.admin(
        "GET",
        &format!(
            "/v1/installations/{}",
            done["outcome"]["installation_id"].as_str().unwrap()
        ),
        "installations:write",
        None,
    );
    assert_eq!(installation.json()["tenant_key"], team.as_str());
    assert!(
        !done.to_string().contains(&format!("xoxb-{n}")),
        "the token is sealed, not shown"
    );
    Ok(())
}

fn wrong_reused_and_expired_oauth_states_are_refused(env: &Env) -> Result<(), Failed> {
    let (session, state) = start_oauth(env, 120);
    let id = session["id"].as_str().unwrap();
    let ip = crate::unique_ip();
    // Tampered: one character of the signature changed.
    let mut tampered = state.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for query in [
        format!("code=x&state={tampered}"),
        "code=x".into(),
        "code=x&state=junk".into(),
    ] {
        let reply = callback(env, &query, &ip);
        assert_eq!(reply.status, 400, "{query}");
    }
    assert_eq!(
        view(env, id)["status"],
        "awaiting_channel_auth",
        "untouched"
    );
    crate::ingress::wait_for_audit(env, "bad_oauth_state", &ip);

    // The admin declines: the session fails; the same state again is a reuse.
    let declined = callback(env, &format!("error=access_denied&state={state}"), &ip);
    assert_eq!(declined.status, 200);
    assert!(
        declined.body.contains("did not allow the app"),
        "{}",
        declined.body
    );
    let failed = view(env, id);
    assert_eq!(failed["status"], "failed");
    let reused = callback(env, &format!("code=x&state={state}"), &ip);
    assert_eq!(reused.status, 400);
    assert_eq!(view(env, id)["history"], failed["history"], "untouched");
    crate::ingress::wait_for_audit(env, "reused_oauth_state", &ip);

    // Expired: the state lives only as long as its session.
    let (_, short) = start_oauth(env, 1);
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        callback(env, &format!("code=x&state={short}"), &ip).status,
        400
    );
    Ok(())
}
