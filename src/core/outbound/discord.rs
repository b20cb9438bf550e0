//! Sending through Discord.
//!
//! - While the interaction's token is valid (15 minutes; it is inside the reply capability):
//!   the first reply to a command edits the deferred response (`PATCH
//!   /webhooks/{application_id}/{token}/messages/@original`); a reply to a component, and
//!   every further part, is a follow-up (`POST /webhooks/{application_id}/{token}?wait=true`);
//!   edits and deletes address the message under the same webhook.
//! - Otherwise, and for a message the agent starts: channel messages with the bot token
//!   (`POST /channels/{channel_id}/messages`, `nonce` with `enforce_nonce`, so a retried send
//!   returns the message the first one made instead of a second one); edits and deletes on the
//!   same channel.
//! - Mentions are neutralised: `allowed_mentions` parses none (no `@everyone`, role or user
//!   pings from a model's text), and the text is escaped ([`Format::Discord`]).
//! - Limits: 50 calls a second per bot (`per_installation`); per-route buckets from the
//!   `X-RateLimit-*` headers; `429` with its `retry_after`.

use super::conversation::{Op, Outcome};
use super::slack::quoted;
use super::{
    ms_of_seconds, seconds_to_ms, Answer, Context, Failure, HttpCall, Rate, Sender, Target,
};
use crate::core::json;
use crate::core::markdown::Format;
use serde_json::{json, Value};

/// Discord's sender.
pub const SENDER: Sender = Sender {
    format: Format::Discord,
    interval_ms: 1000,
    per_installation: Some(Rate {
        calls: 50,
        per_ms: 1000,
    }),
    typing: false,
    marks_read: false,
    starts_conversations: true,
    credential: "bot_token",
    base_url_var: "DISCORD_API_BASE_URL",
    request,
    outcome,
};

/// The interaction webhook a reply goes through, while its token is valid.
struct Interaction<'a> {
    application_id: &'a str,
    token: &'a str,
    edits_original: bool,
}

impl<'a> Interaction<'a> {
    fn of(context: &Context<'a>) -> Option<Interaction<'a>> {
        let handle = |name: &str| context.handles.get(name).and_then(Value::as_str);
        Some(Interaction {
            application_id: handle("application_id")?,
            token: handle("interaction_token")?,
            edits_original: handle("respond") == Some("original"),
        })
    }
}

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    let base = context.base_url.trim_end_matches('/');
    let content = |text: &str| json!({"content": text, "allowed_mentions": {"parse": []}});
    let call = match Interaction::of(context) {
        Some(interaction) => {
            let hook = format!(
                "{base}/webhooks/{}/{}",
                interaction.application_id, interaction.token
            );
            match op {
                Op::Send { part: 0, text } if interaction.edits_original => unauthenticated(
                    "PATCH",
                    format!("{hook}/messages/@original"),
                    Some(content(text)),
                ),
                Op::Send { text, .. } => {
                    unauthenticated("POST", format!("{hook}?wait=true"), Some(content(text)))
                }
                Op::Edit {
                    provider_id, text, ..
                } => unauthenticated(
                    "PATCH",
                    format!("{hook}/messages/{provider_id}"),
                    Some(content(text)),
                ),
                Op::Delete { provider_id, .. } => {
                    unauthenticated("DELETE", format!("{hook}/messages/{provider_id}"), None)
                }
                Op::Typing | Op::MarkRead => return Ok(None),
            }
        }
        None => {
            let channel = format!("{base}/channels/{}/messages", target.conversation_id);
            let bot = format!("Bot {}", context.credential);
            match op {
                Op::Send { part, text } => {
                    let mut body = content(text);
                    json::set(&mut body, "nonce", nonce(context.message_id, *part));
                    json::set(&mut body, "enforce_nonce", true);
                    HttpCall {
                        idempotent: true,
                        ..authenticated("POST", channel, &bot, Some(body))
                    }
                }
                Op::Edit {
                    provider_id, text, ..
                } => authenticated(
                    "PATCH",
                    format!("{channel}/{provider_id}"),
                    &bot,
                    Some(content(text)),
                ),
                Op::Delete { provider_id, .. } => {
                    authenticated("DELETE", format!("{channel}/{provider_id}"), &bot, None)
                }
                Op::Typing | Op::MarkRead => return Ok(None),
            }
        }
    };
    Ok(Some(call))
}

/// A call under an interaction webhook: its token in the path is the authorisation.
fn unauthenticated(method: &'static str, url: String, body: Option<Value>) -> HttpCall {
    HttpCall {
        method,
        url,
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: body.map(|body| body.to_string()),
        idempotent: false,
        follow_redirects: true,
    }
}

fn authenticated(method: &'static str, url: String, bot: &str, body: Option<Value>) -> HttpCall {
    let mut call = unauthenticated(method, url, body);
    call.headers.push(("Authorization", bot.to_owned()));
    call
}

/// A part's nonce (Discord takes at most 25 characters): the message id's digits and the
/// part's index.
fn nonce(message_id: &str, part: usize) -> String {
    let digits: String = message_id
        .trim_start_matches("msg_")
        .chars()
        .take(20)
        .collect();
    format!("{digits}{part}")
}

fn outcome(op: &Op, answer: &Answer<'_>) -> Outcome {
    let body: Value = serde_json::from_str(answer.body).unwrap_or(Value::Null);
    if answer.status == 429 {
        let after_ms = match json::at(&body, "/retry_after").as_f64() {
            Some(seconds) => ms_of_seconds(Some(seconds)),
            None => seconds_to_ms(answer.header("retry-after")),
        };
        return Outcome::RateLimited { after_ms };
    }
    if answer.status >= 500 {
        return Outcome::Retry {
            reason: format!("Discord answered HTTP {}", answer.status),
        };
    }
    if (200..300).contains(&answer.status) {
        let provider_id = json::at(&body, "/id").as_str().map(str::to_owned);
        return Outcome::Done { provider_id };
    }
    if answer.status == 404 && matches!(op, Op::Delete { .. }) {
        return Outcome::Done { provider_id: None };
    }
    Outcome::Failed(refusal(answer.status, &body))
}

/// A Discord error (HTTP status and JSON `code`) as a failure.
fn refusal(status: u16, body: &Value) -> Failure {
    let message = json::at(body, "/message")
        .as_str()
        .unwrap_or("no reason given");
    let code = match (status, json::at(body, "/code").as_u64()) {
        (401, _) => "credentials",
        (_, Some(10003)) => "conversation_not_found",
        (_, Some(10015)) => "reply_expired",
        (_, Some(10008)) => "not_modifiable",
        (_, Some(50001 | 50013)) => "not_in_conversation",
        (_, Some(50035)) => "too_long",
        _ => "refused",
    };
    Failure {
        code: code.to_owned(),
        reason: format!("Discord refused: {}", quoted(message)),
    }
}

#[cfg(test)]
#[path = "discord_test.rs"]
mod tests;
