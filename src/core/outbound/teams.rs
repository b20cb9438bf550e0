//! Answering in Microsoft Teams through the Bot Connector REST API, at the `serviceUrl` the
//! activity came from, with a token of the bot's app (minted at the send boundary from the app
//! profile's `app_password`: `edge::app_tokens`).
//!
//! - Where: the `serviceUrl` from the answered message's sealed reply capability, else the
//!   installation's metadata `service_url` (messages an agent starts). It must begin with one of
//!   the prefixes in `TEAMS_SERVICE_URLS` (the Bot Framework's documented service hosts), so a
//!   request can never make the Worker send a token to another host.
//! - Send: a reply to the answered activity (`POST …/activities/{id}`), or a new message
//!   (`POST …/activities`) in the conversation, a channel thread's conversation being
//!   `<channel>;messageid=<root>`. Texts are Markdown (`textFormat: markdown`).
//! - Edit: `PUT …/activities/{id}`; delete: `DELETE` on the same; typing: a `typing` activity.
//! - Answers: 429 waits (`Retry-After`), 5xx is retried, 401/403 fail with `credentials`, 404
//!   with `conversation_not_found`.
//!
//! Sources: "API reference" of the Bot Connector (<https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference>),
//! "Send proactive messages" and "Rate limiting for bots" in the Teams docs.

use super::conversation::{Op, Outcome};
use super::slack::quoted;
use super::{Answer, Context, Failure, HttpCall, Sender, Target, ThreadMode};
use crate::core::ingress::teams::SERVICE_URL;
use crate::core::json;
use crate::core::markdown::Format;
use serde_json::{json, Value};

/// Teams' sender.
pub const SENDER: Sender = Sender {
    // CommonMark: Discord's rendering (backslash escapes, `[label](<url>)`) is valid Markdown.
    format: Format::Discord,
    // Teams allows a bot about one message a second per conversation.
    interval_ms: 1000,
    per_installation: None,
    typing: true,
    marks_read: false,
    starts_conversations: true,
    credential: "app_token",
    base_url_var: "TEAMS_SERVICE_URLS",
    request,
    outcome,
};

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    let service = service_url(context)?;
    let conversation = conversation_id(target);
    let activities = format!(
        "{service}/v3/conversations/{}/activities",
        encoded(&conversation)
    );
    let activity = |id: &str| format!("{activities}/{}", encoded(id));
    let message = |text: &str| json!({"type": "message", "text": text, "textFormat": "markdown"});
    let (method, url, body) = match op {
        Op::Send { text, .. } => match answered(target) {
            Some(answered) => {
                let mut body = message(text);
                json::set(&mut body, "replyToId", answered);
                ("POST", activity(answered), body)
            }
            None => ("POST", activities, message(text)),
        },
        Op::Edit {
            provider_id, text, ..
        } => {
            let mut body = message(text);
            json::set(&mut body, "id", provider_id.as_str());
            ("PUT", activity(provider_id), body)
        }
        Op::Delete { provider_id, .. } => ("DELETE", activity(provider_id), Value::Null),
        Op::Typing => ("POST", activities, json!({"type": "typing"})),
        Op::MarkRead => return Ok(None),
    };
    Ok(Some(HttpCall {
        method,
        url,
        headers: vec![
            ("Authorization", format!("Bearer {}", context.credential)),
            ("Content-Type", "application/json".to_owned()),
        ],
        body: (!body.is_null()).then(|| body.to_string()),
        idempotent: false,
        follow_redirects: false,
    }))
}

/// The service URL calls go to, without its trailing `/`, when it is one of the allowed (a
/// prefix ending at a `/`, so `https://host.evil` never passes for `https://host`).
fn service_url<'a>(context: &Context<'a>) -> Result<&'a str, Failure> {
    let given = context
        .handles
        .get(SERVICE_URL)
        .and_then(Value::as_str)
        .or_else(|| json::text(context.metadata, &format!("/{SERVICE_URL}")))
        .ok_or_else(|| Failure {
            code: "conversation_not_found".into(),
            reason: "no Teams serviceUrl: answer a message, or set the installation's metadata service_url".into(),
        })?;
    let allowed = context
        .base_url
        .split(',')
        .map(str::trim)
        .map(|prefix| prefix.trim_end_matches('/'))
        .filter(|prefix| !prefix.is_empty())
        .any(|prefix| given == prefix || given.starts_with(&format!("{prefix}/")));
    if !allowed {
        return Err(Failure {
            code: "refused".into(),
            reason: format!(
                "the serviceUrl {} is not one of TEAMS_SERVICE_URLS",
                quoted(given)
            ),
        });
    }
    Ok(given.trim_end_matches('/'))
}

/// The conversation calls go to: a channel thread's is `<channel>;messageid=<root>`.
fn conversation_id(target: &Target) -> String {
    match (&target.thread_id, target.thread) {
        (Some(root), Some(ThreadMode::Reply) | None) => {
            format!("{};messageid={root}", target.conversation_id)
        }
        _ => target.conversation_id.clone(),
    }
}

/// The activity a send answers, unless it goes to the conversation itself.
fn answered(target: &Target) -> Option<&str> {
    match target.thread {
        Some(ThreadMode::Channel) => None,
        _ => target.message_id.as_deref(),
    }
}

/// `value` as one URL path segment (the Bot Framework SDKs' `encodeURIComponent`).
fn encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn outcome(_op: &Op, answer: &Answer<'_>) -> Outcome {
    if let Some(outcome) = answer.throttled_or_failed("Teams") {
        return outcome;
    }
    let body: Value = serde_json::from_str(answer.body).unwrap_or(Value::Null);
    if (200..300).contains(&answer.status) {
        let provider_id = json::text(&body, "/id").map(str::to_owned);
        return Outcome::Done { provider_id };
    }
    let message = json::text(&body, "/error/message")
        .or_else(|| json::text(&body, "/message"))
        .unwrap_or("no reason given");
    let code = match answer.status {
        401 | 403 => "credentials",
        404 => "conversation_not_found",
        _ => "refused",
    };
    Outcome::Failed(Failure {
        code: code.to_owned(),
        reason: format!(
            "Teams refused (HTTP {}): {}",
            answer.status,
            quoted(message)
        ),
    })
}

#[cfg(test)]
#[path = "teams_test.rs"]
mod tests;
