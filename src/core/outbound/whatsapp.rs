//! Sending through the WhatsApp Cloud API (Graph API) with the installation's access token,
//! from the phone number the installation is (its tenant key, the `phone_number_id`).
//!
//! - Send: `POST /{phone_number_id}/messages`, a `text` message to the user (`to`), with
//!   `context.message_id` quoting the answered message for a `reply`.
//! - WhatsApp cannot edit or delete a sent message: a stream is sent once, when final.
//! - Read receipts: the answered message is marked read (`status: read`) once the reply is
//!   sent; while a stream has no text yet, the same call with `typing_indicator` shows typing
//!   (it marks the message read too).
//! - Limits: 80 messages a second per business number (`per_installation`); about one message
//!   every 6 seconds to one user (error 131056, waited out).
//! - Outside the 24-hour customer-service window Meta refuses free-form text (error 131047):
//!   the message fails with `template_required`, saying an approved template is needed.

use super::conversation::{Op, Outcome};
use super::slack::quoted;
use super::{seconds_to_ms, Answer, Context, Failure, HttpCall, Rate, Sender, Target, ThreadMode};
use crate::core::json;
use crate::core::markdown::Format;
use serde_json::{json, Value};

/// WhatsApp's sender.
pub const SENDER: Sender = Sender {
    format: Format::WhatsApp,
    interval_ms: 1000,
    per_installation: Some(Rate {
        calls: 80,
        per_ms: 1000,
    }),
    typing: true,
    marks_read: true,
    // Outside the customer-service window only templates may start a conversation.
    starts_conversations: false,
    credential: "access_token",
    base_url_var: "GRAPH_API_BASE_URL",
    request,
    outcome,
};

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    let answered = target.message_id.as_deref();
    let body = match (op, answered) {
        (Op::Send { part, text }, _) => {
            let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                "to": target.conversation_id, "type": "text",
                "text": {"preview_url": false, "body": text}});
            let quote = answered.filter(|_| target.thread == Some(ThreadMode::Reply) && *part == 0);
            if let Some(message_id) = quote {
                json::set(&mut body, "context", json!({"message_id": message_id}));
            }
            body
        }
        (Op::MarkRead, Some(message_id)) => {
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": message_id})
        }
        (Op::Typing, Some(message_id)) => json!({"messaging_product": "whatsapp",
            "status": "read", "message_id": message_id, "typing_indicator": {"type": "text"}}),
        _ => return Ok(None),
    };
    Ok(Some(messages_call(context, &body)))
}

/// `POST {base}/{tenant key}/messages` with `body` and the credential as a bearer token: Meta's
/// messages endpoint (WhatsApp's phone number, a Messenger Page, an Instagram account).
pub(super) fn messages_call(context: &Context<'_>, body: &Value) -> HttpCall {
    HttpCall {
        method: "POST",
        url: format!(
            "{}/{}/messages",
            context.base_url.trim_end_matches('/'),
            context.tenant_key
        ),
        headers: vec![
            ("Authorization", format!("Bearer {}", context.credential)),
            ("Content-Type", "application/json".to_owned()),
        ],
        body: Some(body.to_string()),
        idempotent: false,
        follow_redirects: true,
    }
}

fn outcome(_op: &Op, answer: &Answer<'_>) -> Outcome {
    graph_outcome(answer, "/messages/0/id", refusal)
}

/// Meta error codes that mean "too fast": throughput, pair rate, application and account rate
/// limits.
const RATE_LIMITS: &[u64] = &[130429, 131056, 80007, 4, 613, 32];
/// Meta error codes worth retrying.
const TRANSIENT: &[u64] = &[1, 2, 131000, 131016];

/// What a Graph API answer means (WhatsApp, Messenger, Instagram): a rate limit waits (6 s for
/// WhatsApp's pair rate), a transient error or 5xx is retried, a success names the new message
/// at `id_pointer`, and any other error is a failure in `refusal`'s words.
pub(super) fn graph_outcome(
    answer: &Answer<'_>,
    id_pointer: &str,
    refusal: fn(Option<u64>, &Value) -> Failure,
) -> Outcome {
    let body: Value = serde_json::from_str(answer.body).unwrap_or(Value::Null);
    let code = json::at(&body, "/error/code").as_u64();
    if answer.status == 429 || code.is_some_and(|code| RATE_LIMITS.contains(&code)) {
        let after_ms = match code {
            Some(131056) => 6000,
            _ => seconds_to_ms(answer.header("retry-after")),
        };
        return Outcome::RateLimited { after_ms };
    }
    if answer.status >= 500 || code.is_some_and(|code| TRANSIENT.contains(&code)) {
        return Outcome::Retry {
            reason: format!("the Graph API answered HTTP {}", answer.status),
        };
    }
    if (200..300).contains(&answer.status) && code.is_none() {
        let provider_id = json::text(&body, id_pointer).map(str::to_owned);
        return Outcome::Done { provider_id };
    }
    Outcome::Failed(refusal(code, &body))
}

/// A Meta error as a failure.
fn refusal(code: Option<u64>, body: &Value) -> Failure {
    let message = json::at(body, "/error/message")
        .as_str()
        .unwrap_or("no reason given");
    let (code, words) = match code {
        Some(131047) => (
            "template_required",
            "more than 24 hours passed since the user last wrote: WhatsApp accepts only an \
             approved template message now",
        ),
        Some(190 | 10 | 200) => (
            "credentials",
            "Meta refused the installation's access token: rotate its credentials",
        ),
        Some(131026) => ("undeliverable", "WhatsApp cannot deliver to this user"),
        Some(131030 | 100) => ("conversation_not_found", "the recipient is not valid"),
        _ => ("refused", "Meta refused the message"),
    };
    Failure {
        code: code.to_owned(),
        reason: format!("{words} ({})", quoted(message)),
    }
}

#[cfg(test)]
#[path = "whatsapp_test.rs"]
mod tests;
