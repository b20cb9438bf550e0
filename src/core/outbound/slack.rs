//! Sending through Slack's Web API with the installation's bot token.
//!
//! - Send: `chat.postMessage` (`channel`, `text` in `mrkdwn`, `thread_ts` for a thread reply).
//! - Edit: `chat.update` (`channel`, `ts`, `text`). Delete: `chat.delete` (`channel`, `ts`).
//! - No typing indicator for bots.
//! - Limits: `chat.postMessage` about one message a second per channel; texts are split at
//!   4000 characters.
//! - Answers: HTTP 429 with `Retry-After` is a rate limit; 5xx and Slack's own transient errors
//!   are retried; any other `{"ok": false, "error": …}` is a refusal named by its error code.
//!
//! Texts are escaped (`&`, `<`, `>`), so `<!channel>`, `<!everyone>` and user mentions a model
//! writes reach Slack as plain text, and no `link_names` is asked for.

use super::conversation::{Op, Outcome};
use super::{seconds_to_ms, Answer, Context, Failure, HttpCall, Sender, Target, ThreadMode};
use crate::core::json;
use crate::core::markdown::Format;
use serde_json::{json, Value};

/// Slack's sender.
pub const SENDER: Sender = Sender {
    format: Format::SlackMrkdwn,
    interval_ms: 1000,
    // Slack's limits are per method and workspace tier: its 429s are waited out.
    per_installation: None,
    typing: false,
    marks_read: false,
    starts_conversations: true,
    credential: "bot_token",
    base_url_var: "SLACK_API_BASE_URL",
    request,
    outcome,
};

/// The thread a message goes into: the answered message's thread by default; `reply` starts
/// one under the answered message when it was not in one; `channel` stays out of threads.
fn thread_ts(target: &Target) -> Option<&str> {
    match target.thread {
        Some(ThreadMode::Channel) => None,
        Some(ThreadMode::Reply) => target.thread_id.as_deref().or(target.message_id.as_deref()),
        None => target.thread_id.as_deref(),
    }
}

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    let channel = target.conversation_id.as_str();
    let (method, body) = match op {
        Op::Send { text, .. } => {
            let mut body = json!({"channel": channel, "text": text, "mrkdwn": true});
            if let Some(thread_ts) = thread_ts(target) {
                json::set(&mut body, "thread_ts", thread_ts);
            }
            ("chat.postMessage", body)
        }
        Op::Edit {
            provider_id, text, ..
        } => (
            "chat.update",
            json!({"channel": channel, "ts": provider_id, "text": text}),
        ),
        Op::Delete { provider_id, .. } => (
            "chat.delete",
            json!({"channel": channel, "ts": provider_id}),
        ),
        Op::Typing | Op::MarkRead => return Ok(None),
    };
    Ok(Some(HttpCall {
        method: "POST",
        url: format!("{}/{method}", context.base_url.trim_end_matches('/')),
        headers: vec![
            ("Authorization", format!("Bearer {}", context.credential)),
            ("Content-Type", "application/json; charset=utf-8".to_owned()),
        ],
        body: Some(body.to_string()),
        idempotent: false,
        follow_redirects: true,
    }))
}

/// Slack error codes that are worth retrying.
const TRANSIENT: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

fn outcome(op: &Op, answer: &Answer<'_>) -> Outcome {
    if let Some(outcome) = answer.throttled_or_failed("Slack") {
        return outcome;
    }
    let body: Value = serde_json::from_str(answer.body).unwrap_or(Value::Null);
    if json::at(&body, "/ok") == true {
        let provider_id = json::at(&body, "/ts").as_str().map(str::to_owned);
        return Outcome::Done { provider_id };
    }
    let error = json::at(&body, "/error")
        .as_str()
        .unwrap_or("unknown_error");
    match (error, op) {
        ("ratelimited", _) => Outcome::RateLimited {
            after_ms: seconds_to_ms(answer.header("retry-after")),
        },
        ("message_not_found", Op::Delete { .. }) => Outcome::Done { provider_id: None },
        (error, _) if TRANSIENT.contains(&error) => Outcome::Retry {
            reason: format!("Slack answered {error}"),
        },
        (error, _) => Outcome::Failed(refusal(error)),
    }
}

/// A Slack error code as a failure.
fn refusal(error: &str) -> Failure {
    let (code, words) = match error {
        "channel_not_found" => (
            "conversation_not_found",
            "the channel does not exist or the bot cannot see it",
        ),
        "not_in_channel" => (
            "not_in_conversation",
            "the bot is not a member of the channel: invite it first",
        ),
        "is_archived" => ("conversation_archived", "the channel is archived"),
        "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked" | "token_expired"
        | "missing_scope" => (
            "credentials",
            "Slack refused the installation's bot token: rotate its credentials",
        ),
        "msg_too_long" => ("too_long", "the message is longer than Slack takes"),
        "cant_update_message" | "edit_window_closed" | "message_not_found" => (
            "not_modifiable",
            "Slack no longer lets the bot change this message",
        ),
        _ => ("refused", "Slack refused the message"),
    };
    Failure {
        code: code.to_owned(),
        reason: format!("{words} ({})", quoted(error)),
    }
}

/// A provider's word, shortened and limited to harmless characters.
pub(super) fn quoted(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(200)
        .collect()
}

#[cfg(test)]
#[path = "slack_test.rs"]
mod tests;
