//! Sending through the Telegram Bot API with the installation's bot token.
//!
//! - Send: `sendMessage` (`chat_id`, `text` with `parse_mode: HTML`, the forum topic's
//!   `message_thread_id`, and `reply_parameters` quoting the answered message for a `reply`).
//! - Edit: `editMessageText`. Delete: `deleteMessage`. While a stream has no text yet:
//!   `sendChatAction` `typing`.
//! - Limits: about one message a second per chat; texts are split at 4096 characters.
//! - Answers: `429` (or `error_code` 429) waits `parameters.retry_after`; 5xx is retried;
//!   "message is not modified" is success for an edit, "message to delete not found" for a
//!   delete; other refusals fail the message with Telegram's description.
//!
//! The bot token is part of the URL path (`/bot<token>/<method>`), as the Bot API wants: the
//! URL is never logged.

use super::conversation::{Op, Outcome};
use super::slack::quoted;
use super::{seconds_to_ms, Answer, Context, Failure, HttpCall, Rate, Sender, Target, ThreadMode};
use crate::core::json;
use crate::core::markdown::Format;
use serde_json::{json, Value};

/// Telegram's sender.
pub const SENDER: Sender = Sender {
    format: Format::TelegramHtml,
    interval_ms: 1000,
    // "no more than 30 messages per second" per bot (Bot API FAQ).
    per_installation: Some(Rate {
        calls: 30,
        per_ms: 1000,
    }),
    typing: true,
    marks_read: false,
    starts_conversations: true,
    credential: "bot_token",
    base_url_var: "TELEGRAM_API_BASE_URL",
    request,
    outcome,
};

/// An id Telegram takes as an integer.
fn integer(id: Option<&str>) -> Option<i64> {
    id?.parse().ok()
}

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    let chat_id = target.conversation_id.as_str();
    let topic = integer(target.thread_id.as_deref());
    let (method, mut body) = match op {
        Op::Send { part, text } => {
            let mut body = json!({"chat_id": chat_id, "text": text, "parse_mode": "HTML"});
            let quote = integer(target.message_id.as_deref())
                .filter(|_| target.thread == Some(ThreadMode::Reply) && *part == 0);
            if let Some(message_id) = quote {
                let quote = json!({"message_id": message_id, "allow_sending_without_reply": true});
                json::set(&mut body, "reply_parameters", quote);
            }
            ("sendMessage", body)
        }
        Op::Edit {
            provider_id, text, ..
        } => (
            "editMessageText",
            json!({"chat_id": chat_id, "message_id": integer(Some(provider_id)),
                   "text": text, "parse_mode": "HTML"}),
        ),
        Op::Delete { provider_id, .. } => (
            "deleteMessage",
            json!({"chat_id": chat_id, "message_id": integer(Some(provider_id))}),
        ),
        Op::Typing => (
            "sendChatAction",
            json!({"chat_id": chat_id, "action": "typing"}),
        ),
        Op::MarkRead => return Ok(None),
    };
    let in_topic =
        matches!(op, Op::Send { .. } | Op::Typing) && target.thread != Some(ThreadMode::Channel);
    if let Some(topic) = topic.filter(|_| in_topic) {
        json::set(&mut body, "message_thread_id", topic);
    }
    let base_url = context.base_url.trim_end_matches('/');
    Ok(Some(HttpCall {
        method: "POST",
        url: format!("{base_url}/bot{}/{method}", context.credential),
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: Some(body.to_string()),
        idempotent: false,
        follow_redirects: true,
    }))
}

fn outcome(op: &Op, answer: &Answer<'_>) -> Outcome {
    let body: Value = serde_json::from_str(answer.body).unwrap_or(Value::Null);
    let error_code = json::at(&body, "/error_code").as_u64();
    if answer.status == 429 || error_code == Some(429) {
        let after = json::at(&body, "/parameters/retry_after")
            .as_u64()
            .map(|seconds| seconds.to_string());
        return Outcome::RateLimited {
            after_ms: seconds_to_ms(after.as_deref().or(answer.header("retry-after"))),
        };
    }
    if answer.status >= 500 {
        return Outcome::Retry {
            reason: format!("Telegram answered HTTP {}", answer.status),
        };
    }
    if json::at(&body, "/ok") == true {
        let provider_id = json::at(&body, "/result/message_id")
            .as_i64()
            .map(|id| id.to_string());
        return Outcome::Done { provider_id };
    }
    let description = json::at(&body, "/description")
        .as_str()
        .unwrap_or("no reason given");
    let lower = description.to_ascii_lowercase();
    match op {
        Op::Edit { .. } if lower.contains("message is not modified") => {
            return Outcome::Done { provider_id: None }
        }
        Op::Delete { .. } if lower.contains("message to delete not found") => {
            return Outcome::Done { provider_id: None }
        }
        _ => {}
    }
    Outcome::Failed(refusal(answer.status, &lower, description))
}

/// A Telegram refusal as a failure.
fn refusal(status: u16, lower: &str, description: &str) -> Failure {
    let code = if status == 401 || status == 404 {
        "credentials"
    } else if lower.contains("chat not found") {
        "conversation_not_found"
    } else if lower.contains("blocked by the user") || lower.contains("kicked") {
        "blocked"
    } else if lower.contains("not enough rights") || lower.contains("have no rights") {
        "not_in_conversation"
    } else if lower.contains("message can't be edited")
        || lower.contains("message to edit not found")
    {
        "not_modifiable"
    } else if lower.contains("too long") {
        "too_long"
    } else {
        "refused"
    };
    Failure {
        code: code.to_owned(),
        reason: format!("Telegram refused: {}", quoted(description)),
    }
}

#[cfg(test)]
#[path = "telegram_test.rs"]
mod tests;
