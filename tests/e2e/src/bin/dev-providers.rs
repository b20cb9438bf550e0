//! `dev-providers [ADDRESS]` (default 127.0.0.1:8791): stand-ins of the provider APIs channel-edge
//! calls, for trying binding sessions and answers on a laptop (`scripts/run.sh
//! --fake-providers` starts it and points the `*_API_BASE_URL` vars and `SLACK_AUTHORIZE_URL` at
//! it). Every call is printed. Only for development: it keeps what it must between calls (a
//! bot's webhook URL) in memory.
//!
//! - Telegram Bot API under `/telegram`: any bot token `<bot id>:<secret>` is a bot (`getMe`
//!   answers with its id and `standin_<id>_bot`); `setWebhook` and `getWebhookInfo` remember
//!   the URL; sending, editing, deleting and typing succeed.
//! - Graph API (WhatsApp Cloud) under `/graph`: a phone number id is a number
//!   (`display_phone_number` `+1 555 01<last 5 digits>`), `subscribed_apps` succeeds, sends
//!   succeed.
//! - Slack under `/slack`: `/slack/oauth/v2/authorize` is a consent page whose "Allow" sends the
//!   browser back with a code; `oauth.v2.access` turns code `standin-<n>` into a bot token for
//!   workspace `T0STANDIN<n>` (`n` counts up from the Unix time the stand-ins started, so each
//!   consent is a new workspace, also after a restart), `auth.test` confirms it; sending
//!   succeeds.
//! - Messenger uses the Graph API stand-in (a Page id is a page named `Stand-in page`);
//!   Instagram's API under `/instagram` is the same stand-in, where `me` is the account
//!   `standin.account`.
//! - Discord under `/discord`: every call succeeds.
//! - GitHub's REST API under `/github`: every call succeeds (new comment ids counting up).
//! - Twilio's API under `/twilio`: any account has any number; its `SmsUrl` is set; messages
//!   are queued.
//! - Linear's GraphQL API under `/linear`: any token is of `Stand-in workspace`; comments
//!   succeed.
//! - Teams: the Bot Framework token endpoint under `/teams-login` and a service URL under
//!   `/teams` (every activity call succeeds); Google Chat: the token endpoint under
//!   `/google-oauth` and the Chat API under `/chat` (every call succeeds); the dev key set
//!   (`seed/dev-jwt-key-set.json`) under `/keys/…` as the Bot Framework's, Chat's and
//!   Google's key sets, so the admin CLI's Teams and Google Chat webhooks verify.
//! - LINE Messaging API under `/line`: any channel access token is a bot (`/v2/bot/info`
//!   answers with user id `U` + a hash of the token and basic id `@standin`); the
//!   webhook endpoint is remembered per token and on; pushes and loading animations succeed.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

const USAGE: &str = "usage: dev-providers [ADDRESS]   (default 127.0.0.1:8791)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let address = args.first().map_or("127.0.0.1:8791", String::as_str);
    let server = match tiny_http::Server::http(address) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("dev-providers: cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("dev-providers: provider stand-ins on http://{address}/");
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |elapsed| elapsed.as_secs());
    NEXT_WORKSPACE.store(started, Ordering::Relaxed);
    let mut state = State::default();
    for mut request in server.incoming_requests() {
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        let url = request.url().to_owned();
        let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
        let authorization = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .map(|h| h.value.as_str().to_owned())
            .unwrap_or_default();
        let call = Call {
            method: request.method().as_str(),
            path,
            query,
            body: &body,
            authorization: &authorization,
        };
        let answer = state.answer(&call);
        println!(
            "dev-providers: {} {} → {}",
            request.method(),
            redact(path),
            answer.log
        );
        let mut response =
            tiny_http::Response::from_string(answer.body).with_status_code(answer.status);
        for (name, value) in answer.headers {
            if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
                response.add_header(header);
            }
        }
        let _ = request.respond(response);
    }
    ExitCode::SUCCESS
}

/// A Telegram path holds the bot token: the log shows its bot id only.
fn redact(path: &str) -> String {
    match path.strip_prefix("/telegram/bot") {
        Some(rest) => {
            let (token, method) = rest.split_once('/').unwrap_or((rest, ""));
            let id = token.split(':').next().unwrap_or_default();
            format!("/telegram/bot{id}:…/{method}")
        }
        None => path.to_owned(),
    }
}

struct Answer {
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
    log: String,
}

fn json_answer(body: Value, log: impl Into<String>) -> Answer {
    Answer {
        status: 200,
        body: body.to_string(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        log: log.into(),
    }
}

/// What the stand-ins remember: each bot's webhook URL, and a counter for new ids.
#[derive(Default)]
struct State {
    webhooks: HashMap<String, String>,
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// The number of the next stand-in Slack workspace. It starts at the Unix time the stand-ins
/// started, so a restarted stand-in never hands out a workspace the local database (which
/// outlives it) has already installed.
static NEXT_WORKSPACE: AtomicU64 = AtomicU64::new(0);

fn next_id() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One request, as the stand-ins see it.
struct Call<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    body: &'a str,
    authorization: &'a str,
}

impl State {
    fn answer(&mut self, call: &Call) -> Answer {
        let mut parts = call.path.trim_start_matches('/').splitn(2, '/');
        let (service, rest) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        match service {
            "telegram" => self.telegram(rest, call.body),
            "graph" | "instagram" => graph(call.method, rest),
            "slack" => slack(rest, call),
            "discord" => json_answer(json!({"id": next_id().to_string()}), "ok"),
            "line" => self.line(rest, call),
            "linear" => linear(call),
            "github" => json_answer(json!({"id": next_id()}), "ok"),
            "twilio" => twilio(call),
            // The dev key set as every platform's key set (the tools sign with its key).
            "keys" => json_answer(
                serde_json::from_str(include_str!("../../../../seed/dev-jwt-key-set.json"))
                    .unwrap_or_default(),
                "the dev key set",
            ),
            "teams-login" | "google-oauth" => json_answer(
                json!({"access_token": format!("standin-token-{}", next_id()),
                       "token_type": "Bearer", "expires_in": 3600}),
                "a token",
            ),
            "teams" => json_answer(json!({"id": format!("1:{}", next_id())}), "ok"),
            "chat" => {
                let messages = rest.trim_start_matches("v1/");
                json_answer(json!({"name": format!("{messages}/{}", next_id())}), "ok")
            }
            _ => Answer {
                status: 404,
                body: "{}".into(),
                headers: Vec::new(),
                log: "no such stand-in".into(),
            },
        }
    }

    fn telegram(&mut self, rest: &str, body: &str) -> Answer {
        let rest = rest.strip_prefix("bot").unwrap_or(rest);
        let (token, method) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(bot_id) = telegram_bot_id(token) else {
            return Answer {
                status: 401,
                body: json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
                    .to_string(),
                headers: vec![("Content-Type".into(), "application/json".into())],
                log: "Unauthorized (not a bot token `<bot id>:<secret>`)".into(),
            };
        };
        let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let result = match method {
            "getMe" => json!({"id": bot_id, "is_bot": true, "first_name": "Stand-in bot",
                              "username": format!("standin_{bot_id}_bot")}),
            "setWebhook" => {
                let url = body["url"].as_str().unwrap_or_default().to_owned();
                self.webhooks.insert(token.to_owned(), url);
                json!(true)
            }
            "getWebhookInfo" => {
                json!({"url": self.webhooks.get(token).cloned().unwrap_or_default(),
                       "pending_update_count": 0})
            }
            "sendMessage" => json!({"message_id": next_id(), "chat": {"id": body["chat_id"]},
                                   "text": body["text"]}),
            _ => json!(true),
        };
        json_answer(
            json!({"ok": true, "result": result}),
            format!("ok ({method})"),
        )
    }
}

impl State {
    fn line(&mut self, rest: &str, call: &Call) -> Answer {
        let token = call
            .authorization
            .strip_prefix("Bearer ")
            .unwrap_or_default();
        if token.is_empty() {
            let refusal = json!({"message": "Authentication failed. Confirm that the access \
                token in the authorization header is valid."});
            return Answer {
                status: 401,
                body: refusal.to_string(),
                headers: vec![("Content-Type".into(), "application/json".into())],
                log: "no channel access token".into(),
            };
        }
        let body: Value = serde_json::from_str(call.body).unwrap_or(Value::Null);
        match (call.method, rest) {
            ("GET", "v2/bot/info") => {
                // FNV-1a: the same token is the same bot.
                let hash = token.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                    (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
                });
                json_answer(
                    json!({"userId": format!("U{hash:032x}"), "basicId": "@standin",
                           "displayName": "Stand-in account", "chatMode": "bot"}),
                    "bot info",
                )
            }
            ("PUT", "v2/bot/channel/webhook/endpoint") => {
                let url = body["endpoint"].as_str().unwrap_or_default().to_owned();
                self.webhooks.insert(format!("line:{token}"), url);
                json_answer(json!({}), "webhook endpoint set")
            }
            ("GET", "v2/bot/channel/webhook/endpoint") => {
                let url = self.webhooks.get(&format!("line:{token}")).cloned();
                json_answer(
                    json!({"endpoint": url.unwrap_or_default(), "active": true}),
                    "webhook endpoint",
                )
            }
            (_, "v2/bot/message/push") => json_answer(
                json!({"sentMessages": [{"id": next_id().to_string()}]}),
                "pushed",
            ),
            _ => json_answer(json!({}), "ok"),
        }
    }
}

/// Twilio's API: every account has the number asked for; setting its `SmsUrl` is echoed; every
/// message is queued.
fn twilio(call: &Call) -> Answer {
    let form = |name: &str| form_value(call.body, name).unwrap_or_default();
    if call.path.ends_with("/IncomingPhoneNumbers.json") {
        let number = form_value(call.query, "PhoneNumber").unwrap_or_default();
        return json_answer(
            json!({"incoming_phone_numbers": [{"sid": format!("PN{:032}", next_id()),
                   "phone_number": number, "friendly_name": "Stand-in number"}]}),
            "a number",
        );
    }
    if call.path.contains("/IncomingPhoneNumbers/") {
        return json_answer(json!({"sms_url": form("SmsUrl")}), "SmsUrl set");
    }
    let answer = json!({"sid": format!("SM{:032}", next_id()), "status": "queued"});
    Answer {
        status: 201,
        ..json_answer(answer, "queued")
    }
}

/// Linear's GraphQL API: any token belongs to the workspace `Stand-in workspace`; comments
/// succeed.
fn linear(call: &Call) -> Answer {
    let body: Value = serde_json::from_str(call.body).unwrap_or(Value::Null);
    let query = body["query"].as_str().unwrap_or_default();
    let data = if query.contains("commentCreate") {
        json!({"commentCreate": {"success": true, "comment": {"id": format!("standin-comment-{}", next_id())}}})
    } else if query.contains("commentUpdate") {
        json!({"commentUpdate": {"success": true, "comment": {"id": body["variables"]["id"]}}})
    } else if query.contains("commentDelete") {
        json!({"commentDelete": {"success": true}})
    } else {
        json!({"viewer": {"id": "standin-user", "name": "Stand-in user"},
               "organization": {"id": "5c9e3b8a-0d6e-4c4f-9a51-7e0b4b0de999",
                                "name": "Stand-in workspace", "urlKey": "standin"}})
    };
    json_answer(json!({"data": data}), "ok")
}

/// The bot id of a token `<digits>:<secret>` (channel-edge checks the secret's form itself
/// when a binding session is given a token; the seed's tokens are shorter than real ones).
fn telegram_bot_id(token: &str) -> Option<u64> {
    let (id, secret) = token.split_once(':')?;
    (!secret.is_empty()).then(|| id.parse().ok()).flatten()
}

fn graph(method: &str, rest: &str) -> Answer {
    let segments: Vec<&str> = rest.split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["me"]) => json_answer(
            json!({"user_id": "17841400000099999", "username": "standin.account"}),
            "an Instagram account",
        ),
        ("GET", [id]) => {
            let digits = id.get(id.len().saturating_sub(5)..).unwrap_or_default();
            json_answer(
                json!({"id": id, "display_phone_number": format!("+1 555 01{digits}"),
                       "verified_name": "Stand-in number", "name": "Stand-in page"}),
                "a phone number or page",
            )
        }
        (_, [.., "subscribed_apps"]) => json_answer(json!({"success": true}), "subscribed"),
        (_, [.., "messages"]) => json_answer(
            json!({"messaging_product": "whatsapp",
                   "messages": [{"id": format!("wamid.STANDIN{}", next_id())}],
                   "message_id": format!("m_STANDIN{}", next_id())}),
            "sent",
        ),
        _ => json_answer(json!({"success": true}), "ok"),
    }
}

fn slack(rest: &str, call: &Call) -> Answer {
    match rest {
        "oauth/v2/authorize" => consent_page(call.query),
        "api/oauth.v2.access" => {
            let code = form_value(call.body, "code").unwrap_or_default();
            let Some(n) = code.strip_prefix("standin-") else {
                return json_answer(
                    json!({"ok": false, "error": "invalid_code"}),
                    "invalid_code",
                );
            };
            json_answer(
                json!({"ok": true, "access_token": format!("xoxb-standin-T0STANDIN{n}"),
                       "token_type": "bot", "bot_user_id": "U0STANDINBOT", "app_id": "A0STANDIN",
                       "team": {"id": format!("T0STANDIN{n}"), "name": format!("Stand-in workspace {n}")}}),
                format!("a bot token for T0STANDIN{n}"),
            )
        }
        "api/auth.test" => match call.authorization.strip_prefix("Bearer xoxb-standin-") {
            Some(team) => json_answer(
                json!({"ok": true, "team_id": team, "user_id": "U0STANDINBOT"}),
                format!("the token is for {team}"),
            ),
            None => json_answer(
                json!({"ok": false, "error": "invalid_auth"}),
                "invalid_auth",
            ),
        },
        _ => json_answer(
            json!({"ok": true, "channel": "C0", "ts": format!("1800000000.{:06}", next_id())}),
            "ok",
        ),
    }
}

/// A consent page like Slack's: "Allow" returns to `redirect_uri` with a code, "Cancel" with
/// `error=access_denied`, both with the `state`.
fn consent_page(query: &str) -> Answer {
    let value = |name: &str| form_value(query, name).unwrap_or_default();
    let (redirect, state) = (value("redirect_uri"), value("state"));
    let back = |extra: String| {
        let query = form_urlencoded::Serializer::new(extra)
            .append_pair("state", &state)
            .finish();
        html_escape(&format!("{redirect}?{query}"))
    };
    let workspace = NEXT_WORKSPACE.fetch_add(1, Ordering::Relaxed);
    let allow = back(format!("code=standin-{workspace}&"));
    let cancel = back("error=access_denied&".to_owned());
    let html = format!(
        "<!doctype html><title>Stand-in Slack consent</title><h1>Stand-in for Slack's consent \
         page</h1><p>App <code>{}</code> asks for <code>{}</code>.</p><p><a href=\"{allow}\">Allow</a> \
         · <a href=\"{cancel}\">Cancel</a></p>",
        html_escape(&value("client_id")),
        html_escape(&value("scope"))
    );
    Answer {
        status: 200,
        body: html,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        log: "the consent page".into(),
    }
}

fn form_value(form: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(form.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
