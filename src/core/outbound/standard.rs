//! Answering a Standard Webhooks source: an installation may name a `callback_url` in its
//! metadata; each outbound operation is POSTed there as an event, signed the Standard Webhooks
//! way with the installation's own `webhook_secret` (the secret its inbound requests are
//! verified with), exactly as channel-edge signs deliveries to the agent runtime.
//!
//! - Events: `message.created` (a part of a message), `message.updated` (a part's new text),
//!   `message.deleted`; body `{"type", "message_id", "part", "conversation", "thread",
//!   "in_reply_to", "text"}`, the text plain (Markdown markup removed).
//! - `webhook-id` is the same for a repeated delivery of one event, so a receiver that
//!   deduplicates on it (as Standard Webhooks asks) never applies it twice: a timeout is
//!   retried.
//! - Only `https://` URLs, and `http://` only to a loopback host (development); a redirect is
//!   refused, never followed.

use super::conversation::{Op, Outcome};
use super::{seconds_to_ms, Answer, Context, Failure, HttpCall, Sender, Target};
use crate::core::delivery::signed_headers;
use crate::core::json;
use crate::core::markdown::{Count, Format};
use serde_json::json;
use sha2::{Digest, Sha256};

/// The Standard Webhooks sender.
pub const SENDER: Sender = Sender {
    format: Format::Plain(Count::Chars),
    interval_ms: 0,
    per_installation: None,
    typing: false,
    marks_read: false,
    starts_conversations: true,
    credential: "webhook_secret",
    base_url_var: "",
    request,
    outcome,
};

/// Why a callback URL is not one channel-edge POSTs to, if it is not.
pub fn check_callback_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| "callback_url must be an absolute https:// URL".to_owned())?;
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.split(']').next())
        .unwrap_or_else(|| host.split(':').next().unwrap_or_default());
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "::1");
    match scheme {
        "https" if !host.is_empty() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("callback_url must be https:// (http:// only to 127.0.0.1 or localhost)".into()),
    }
}

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    let (kind, part, text) = match op {
        Op::Send { part, text } => ("message.created", *part, Some(text.as_str())),
        Op::Edit { part, text, .. } => ("message.updated", *part, Some(text.as_str())),
        Op::Delete { part, .. } => ("message.deleted", *part, None),
        Op::Typing | Op::MarkRead => return Ok(None),
    };
    let url = json::at(context.metadata, "/callback_url")
        .as_str()
        .ok_or_else(|| {
            failure(
                "no_callback",
                "the installation names no callback_url".into(),
            )
        })?;
    check_callback_url(url).map_err(|reason| failure("no_callback", reason))?;
    let body = json!({"type": kind, "message_id": context.message_id, "part": part,
        "conversation": target.conversation_id, "thread": target.thread_id,
        "in_reply_to": target.message_id, "text": text})
    .to_string();
    let id = event_id(context.message_id, part, kind, text.unwrap_or_default());
    let signed =
        signed_headers(context.credential, &id, context.now, body.as_bytes()).map_err(|_| {
            failure(
                "credentials",
                "the installation's webhook_secret is not a whsec_ key".into(),
            )
        })?;
    let mut headers = vec![("Content-Type", "application/json".to_owned())];
    headers.extend(signed);
    Ok(Some(HttpCall {
        method: "POST",
        url: url.to_owned(),
        headers,
        body: Some(body),
        idempotent: true,
        follow_redirects: false,
    }))
}

/// The event's `webhook-id`: the same for every delivery of one event, different for the next
/// (a new text of the same part is a new event).
fn event_id(message_id: &str, part: usize, kind: &str, text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{message_id}.{part}.{kind}.{short}")
}

fn failure(code: &str, reason: String) -> Failure {
    Failure {
        code: code.to_owned(),
        reason,
    }
}

fn outcome(_op: &Op, answer: &Answer<'_>) -> Outcome {
    match answer.status {
        200..=299 => Outcome::Done { provider_id: None },
        300..=399 => Outcome::Failed(failure(
            "redirect",
            format!(
                "the callback answered HTTP {} (a redirect, which is not followed)",
                answer.status
            ),
        )),
        429 => Outcome::RateLimited {
            after_ms: seconds_to_ms(answer.header("retry-after")),
        },
        500..=599 => Outcome::Retry {
            reason: format!("the callback answered HTTP {}", answer.status),
        },
        status => Outcome::Failed(failure(
            "refused",
            format!("the callback answered HTTP {status}"),
        )),
    }
}

#[cfg(test)]
#[path = "standard_test.rs"]
mod tests;
