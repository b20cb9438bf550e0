//! Answering in Google Chat through the Chat API as the Chat app, with a token of its service
//! account (minted at the send boundary from the app profile's `service_account_key`:
//! `edge::app_tokens`).
//!
//! - Send: `POST /v1/{space}/messages` in the answered message's thread
//!   (`messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`), with a client message id
//!   (`client-<uuid>`) derived from the message and part: Chat refuses a second message with the
//!   same id (409), so a retry after a timeout cannot post twice.
//! - Edit: `PATCH /v1/{space}/messages/client-<uuid>?updateMask=text`; delete: `DELETE` on the
//!   same (Chat takes the client id in the message's name). A retried send answered 409, or a
//!   retried delete answered 404, had landed: done.
//! - Texts use Chat's formatting (`*bold*`, `_italic_`, `~strike~`, `` `code` ``); Chat takes
//!   messages of up to 32,000 bytes, so parts are cut at 8,000 characters.
//! - A space name not of Chat's form (`spaces/<id>`) fails the message before any call.
//! - Answers: 429 waits, 5xx is retried, 401 fails with `credentials`, 403 with
//!   `not_in_conversation` (the app is not in the space), 404 with `conversation_not_found`.
//!
//! Sources: the Chat API reference (`spaces.messages.create`, `patch`, `delete`:
//! <https://developers.google.com/workspace/chat/api/reference/rest/v1/spaces.messages>),
//! "Name a message" (client-assigned ids) and "Usage limits".

use super::conversation::{Op, Outcome};
use super::slack::quoted;
use super::ThreadMode;
use super::{derived_uuid, Answer, Context, Failure, HttpCall, Sender, Target};
use crate::core::json;
use crate::core::markdown::Format;
use serde_json::{json, Value};

/// Google Chat's sender.
pub const SENDER: Sender = Sender {
    format: Format::WhatsApp,
    // Chat allows an app one write a second per space.
    interval_ms: 1000,
    per_installation: None,
    typing: false,
    marks_read: false,
    starts_conversations: true,
    credential: "app_token",
    base_url_var: "GOOGLE_CHAT_API_BASE_URL",
    request,
    outcome,
};

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    let space = space(&target.conversation_id).ok_or_else(|| Failure {
        code: "conversation_not_found".into(),
        reason: "a Google Chat conversation is a space name, spaces/<id>".into(),
    })?;
    let base = format!(
        "{}/v1/{space}/messages",
        context.base_url.trim_end_matches('/')
    );
    let client_id = |part: usize| format!("client-{}", derived_uuid(context.message_id, part));
    let (method, url, body) = match op {
        Op::Send { part, text } => {
            let mut body = json!({"text": text});
            let thread = match target.thread {
                Some(ThreadMode::Channel) => None,
                _ => target.thread_id.as_deref(),
            };
            if let Some(thread) = thread {
                json::set(&mut body, "thread", json!({"name": thread}));
            }
            let query = format!(
                "messageId={}&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
                client_id(*part)
            );
            ("POST", format!("{base}?{query}"), Some(body))
        }
        Op::Edit { part, text, .. } => (
            "PATCH",
            format!("{base}/{}?updateMask=text", client_id(*part)),
            Some(json!({"text": text})),
        ),
        Op::Delete { part, .. } => ("DELETE", format!("{base}/{}", client_id(*part)), None),
        Op::Typing | Op::MarkRead => return Ok(None),
    };
    Ok(Some(HttpCall {
        method,
        url,
        headers: vec![
            ("Authorization", format!("Bearer {}", context.credential)),
            ("Content-Type", "application/json".to_owned()),
        ],
        body: body.map(|body| body.to_string()),
        idempotent: true,
        follow_redirects: true,
    }))
}

/// `spaces/<id>`, when the id is of Chat's characters.
fn space(conversation: &str) -> Option<&str> {
    let id = conversation.strip_prefix("spaces/")?;
    let valid = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    valid.then_some(conversation)
}

fn outcome(op: &Op, answer: &Answer<'_>) -> Outcome {
    if let Some(outcome) = answer.throttled_or_failed("Google Chat") {
        return outcome;
    }
    let body: Value = serde_json::from_str(answer.body).unwrap_or(Value::Null);
    let repeated = matches!(
        (op, answer.status),
        (Op::Send { .. }, 409) | (Op::Delete { .. }, 404)
    );
    if (200..300).contains(&answer.status) || repeated {
        let provider_id = match op {
            Op::Send { .. } => json::text(&body, "/name").map(str::to_owned),
            _ => None,
        };
        return Outcome::Done { provider_id };
    }
    let code = match answer.status {
        401 => "credentials",
        403 => "not_in_conversation",
        404 => "conversation_not_found",
        _ => "refused",
    };
    let message = json::text(&body, "/error/message").unwrap_or("no reason given");
    Outcome::Failed(Failure {
        code: code.to_owned(),
        reason: format!(
            "Google Chat refused (HTTP {}): {}",
            answer.status,
            quoted(message)
        ),
    })
}

#[cfg(test)]
#[path = "google_chat_test.rs"]
mod tests;
