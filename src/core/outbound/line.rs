//! Sending through the LINE Messaging API with the installation's channel access token.
//!
//! - Send: the push API (`POST /v2/bot/message/push`, `to` the user, group or room) with an
//!   `X-Line-Retry-Key` made from the message id and part, so a retried call after a timeout
//!   cannot send twice (LINE answers 409 to a key it already accepted: success). A `reply`
//!   quotes the answered message with its `quoteToken`.
//! - Not the reply API: a reply token is single-use and valid only briefly after the event,
//!   while an agent's answer comes through the queue and may be split into parts or retried.
//!   Push messages count towards the account's monthly message quota.
//! - LINE cannot edit or delete a sent message: a stream is sent once, when final. While a
//!   stream has no text yet in a one-to-one chat, the loading animation
//!   (`POST /v2/bot/chat/loading/start`) shows that an answer is coming.
//! - Limits: 2,000 push requests a second per channel; texts are split at 5,000 UTF-16 code
//!   units. A 429 for the monthly message quota fails the message (`quota`); others wait.
//!
//! Sources: Messaging API reference, "Send push message", "Retrying an API request", "Display
//! a loading animation" and "Status codes"
//! (<https://developers.line.biz/en/reference/messaging-api/>).

use super::conversation::{Op, Outcome};
use super::slack::quoted;
use super::{
    derived_uuid, seconds_to_ms, Answer, Context, Failure, HttpCall, Rate, Sender, Target,
    ThreadMode,
};
use crate::core::json;
use crate::core::markdown::{Count, Format};
use serde_json::{json, Value};

/// LINE's sender.
pub const SENDER: Sender = Sender {
    format: Format::Plain(Count::Utf16),
    interval_ms: 200,
    per_installation: Some(Rate {
        calls: 2000,
        per_ms: 1000,
    }),
    typing: true,
    marks_read: false,
    starts_conversations: true,
    credential: "channel_access_token",
    base_url_var: "LINE_API_BASE_URL",
    request,
    outcome,
};

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    let (path, body, retry_key) = match op {
        Op::Send { part, text } => {
            let mut message = json!({"type": "text", "text": text});
            let quote = context
                .handles
                .get("quote_token")
                .and_then(Value::as_str)
                .filter(|_| target.thread == Some(ThreadMode::Reply) && *part == 0);
            if let Some(token) = quote {
                json::set(&mut message, "quoteToken", token);
            }
            let body = json!({"to": target.conversation_id, "messages": [message]});
            let key = derived_uuid(context.message_id, *part);
            ("message/push", body, Some(key))
        }
        // Only one-to-one chats (user ids start with `U`) show a loading animation.
        Op::Typing if target.conversation_id.starts_with('U') => (
            "chat/loading/start",
            json!({"chatId": target.conversation_id, "loadingSeconds": 20}),
            None,
        ),
        _ => return Ok(None),
    };
    let mut headers = vec![
        ("Authorization", format!("Bearer {}", context.credential)),
        ("Content-Type", "application/json".to_owned()),
    ];
    let idempotent = retry_key.is_some();
    headers.extend(retry_key.map(|key| ("X-Line-Retry-Key", key)));
    Ok(Some(HttpCall {
        method: "POST",
        url: format!("{}/v2/bot/{path}", context.base_url.trim_end_matches('/')),
        headers,
        body: Some(body.to_string()),
        idempotent,
        follow_redirects: true,
    }))
}

fn outcome(_op: &Op, answer: &Answer<'_>) -> Outcome {
    let body: Value = serde_json::from_str(answer.body).unwrap_or(Value::Null);
    match answer.status {
        200..=299 => Outcome::Done {
            provider_id: json::text(&body, "/sentMessages/0/id").map(str::to_owned),
        },
        // The retry key was accepted before: the message is there once.
        409 if answer.header("x-line-accepted-request-id").is_some() => {
            Outcome::Done { provider_id: None }
        }
        // The monthly message quota is used up: waiting a moment does not help.
        429 if json::text(&body, "/message").is_some_and(|m| m.contains("monthly limit")) => {
            Outcome::Failed(Failure {
                code: "quota".into(),
                reason: "LINE refused: the account's monthly message quota is used up".into(),
            })
        }
        429 => Outcome::RateLimited {
            after_ms: seconds_to_ms(answer.header("retry-after")),
        },
        500..=599 => Outcome::Retry {
            reason: format!("the LINE API answered HTTP {}", answer.status),
        },
        status => Outcome::Failed(refusal(status, &body)),
    }
}

/// A LINE refusal as a failure.
fn refusal(status: u16, body: &Value) -> Failure {
    let message = json::text(body, "/message").unwrap_or("no reason given");
    let detail = json::text(body, "/details/0/message").unwrap_or("");
    let code = match status {
        401 | 403 => "credentials",
        404 => "conversation_not_found",
        _ => "refused",
    };
    let reason = if detail.is_empty() {
        format!("LINE refused: {}", quoted(message))
    } else {
        format!("LINE refused: {} ({})", quoted(message), quoted(detail))
    };
    Failure {
        code: code.to_owned(),
        reason,
    }
}

#[cfg(test)]
#[path = "line_test.rs"]
mod tests;
