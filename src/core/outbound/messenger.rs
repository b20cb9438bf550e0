//! Sending through Messenger's Send API (Graph API) with the Page's access token, from the Page
//! the installation is (its tenant key); Instagram's Send API is the same call on another host
//! ([`super::instagram`]).
//!
//! - Send: `POST /{page_id}/messages`, a text message to the person (`recipient.id`, their
//!   page-scoped id), `messaging_type: RESPONSE`.
//! - Messenger cannot edit or delete a sent message: a stream is sent once, when final. While a
//!   stream has no text yet, the sender action `typing_on` shows typing; once the reply is sent,
//!   `mark_seen` marks the person's message seen.
//! - A person can be answered within 24 hours of their last message; after that Meta refuses
//!   (error 10 / subcode 2018278, or 551 when the person is unavailable): the message fails.
//!
//! Sources: the Send API reference
//! (<https://developers.facebook.com/docs/messenger-platform/reference/send-api>), sender actions
//! and the Messenger Platform's error codes.

use super::conversation::{Op, Outcome};
use super::slack::quoted;
use super::whatsapp::{graph_outcome, messages_call};
use super::{Answer, Context, Failure, HttpCall, Sender, Target};
use crate::core::json;
use crate::core::markdown::{Count, Format};
use serde_json::{json, Value};

/// Messenger's sender.
pub const SENDER: Sender = Sender {
    format: Format::Plain(Count::Utf16),
    interval_ms: 1000,
    per_installation: None,
    typing: true,
    marks_read: true,
    // Outside the 24-hour window only tagged messages may be sent.
    starts_conversations: false,
    credential: "page_access_token",
    base_url_var: "GRAPH_API_BASE_URL",
    request,
    outcome,
};

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    Ok(messaging_request(op, target, context, Some("RESPONSE")))
}

/// The Send API call for `op` (Messenger's and Instagram's): `messaging_type` where the API
/// takes one.
pub(super) fn messaging_request(
    op: &Op,
    target: &Target,
    context: &Context<'_>,
    messaging_type: Option<&str>,
) -> Option<HttpCall> {
    let recipient = json!({"id": target.conversation_id});
    let mut body = match op {
        Op::Send { text, .. } => json!({"recipient": recipient, "message": {"text": text}}),
        Op::Typing => json!({"recipient": recipient, "sender_action": "typing_on"}),
        Op::MarkRead => json!({"recipient": recipient, "sender_action": "mark_seen"}),
        Op::Edit { .. } | Op::Delete { .. } => return None,
    };
    if let (Op::Send { .. }, Some(kind)) = (op, messaging_type) {
        json::set(&mut body, "messaging_type", kind);
    }
    Some(messages_call(context, &body))
}

pub(super) fn outcome(_op: &Op, answer: &Answer<'_>) -> Outcome {
    graph_outcome(answer, "/message_id", refusal)
}

/// A Send API error as a failure.
fn refusal(code: Option<u64>, body: &Value) -> Failure {
    let message = json::text(body, "/error/message").unwrap_or("no reason given");
    let subcode = json::at(body, "/error/error_subcode").as_u64();
    let (code, words) = match (code, subcode) {
        (Some(10), Some(2_018_278)) | (_, Some(2_534_022)) => (
            "window_closed",
            "more than 24 hours passed since the person last wrote: Meta accepts only tagged \
             messages now",
        ),
        (Some(551), _) => ("undeliverable", "this person is not available right now"),
        (Some(190 | 200 | 10), _) => (
            "credentials",
            "Meta refused the installation's access token: rotate its credentials",
        ),
        (Some(100), _) => ("conversation_not_found", "the recipient is not valid"),
        _ => ("refused", "Meta refused the message"),
    };
    Failure {
        code: code.to_owned(),
        reason: format!("{words} ({})", quoted(message)),
    }
}

#[cfg(test)]
#[path = "messenger_test.rs"]
mod tests;
