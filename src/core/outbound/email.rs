//! Answering by email through the Worker's `send_email` binding: the core writes the message
//! (RFC 5322, plain text), the edge hands it to the binding (`edge::email`).
//!
//! - From: the signed reply address of the answered message's thread (from the sealed reply
//!   capability: replies to it come back to the same thread), else the installation's address.
//!   To: the conversation (the correspondent's address). A reply is threaded: `Subject: Re: …`,
//!   `In-Reply-To` the answered message, `References` its chain.
//! - The message id is derived from the message and part, so a retried part is the same mail
//!   to a receiver that deduplicates. `Auto-Submitted: auto-replied` (RFC 3834) keeps other
//!   responders from answering it.
//! - The call is an [`HttpCall`] to `mailto:<address>` whose body is the message; the edge sends
//!   it and answers 202 (sent), 403 (the binding refuses the address) or 503 (retry).
//!
//! Sources: RFC 5322, RFC 2047, RFC 3834; Cloudflare's "Send emails from Workers".

use super::conversation::{Op, Outcome};
use super::{derived_uuid, Answer, Context, Failure, HttpCall, Sender, Target};
use crate::core::markdown::{Count, Format};
use crate::core::mime;
use serde_json::Value;

/// Email's sender.
pub const SENDER: Sender = Sender {
    format: Format::Plain(Count::Chars),
    interval_ms: 1000,
    per_installation: None,
    typing: false,
    marks_read: false,
    starts_conversations: true,
    // Sent through the Worker's own binding: no credential.
    credential: "",
    // No API: the `send_email` binding.
    base_url_var: "",
    request,
    outcome,
};

/// The URL scheme of a call the edge sends through the `send_email` binding.
pub const MAILTO: &str = "mailto:";

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    let Op::Send { part, text } = op else {
        return Ok(None);
    };
    let to = mime::address(&target.conversation_id).ok_or_else(|| Failure {
        code: "conversation_not_found".into(),
        reason: "an email conversation is the correspondent's address".into(),
    })?;
    let handle = |name: &str| context.handles.get(name).and_then(Value::as_str);
    let from =
        mime::address(handle("from").unwrap_or(context.tenant_key)).ok_or_else(|| Failure {
            code: "refused".into(),
            reason: "the installation's address is not one mail can be sent from".into(),
        })?;
    let domain = from
        .rsplit_once('@')
        .map_or("channel-edge.invalid", |(_, d)| d);
    let subject: String = match handle("subject").map(str::trim) {
        Some(subject) if subject.to_ascii_lowercase().starts_with("re:") => subject.to_owned(),
        Some(subject) if !subject.is_empty() => format!("Re: {subject}"),
        _ => "Re: your message".to_owned(),
    };
    let subject: String = subject.chars().take(mime::MAX_SUBJECT_CHARS).collect();
    let mut headers = vec![
        format!("From: {from}"),
        format!("To: {to}"),
        format!("Subject: {}", mime::encode_word(&subject)),
        format!("Date: {}", mime::date(context.now)),
        format!(
            "Message-ID: <{}@{domain}>",
            derived_uuid(context.message_id, *part)
        ),
    ];
    let answered = target.message_id.as_deref().map(mime::message_ids);
    if let Some(answered) = answered.and_then(|ids| ids.into_iter().next()) {
        let chain = mime::message_ids(handle("references").unwrap_or_default());
        let chain = if chain.is_empty() {
            vec![answered.clone()]
        } else {
            chain
        };
        headers.push(format!("In-Reply-To: {answered}"));
        headers.push(format!("References: {}", mime::references(&chain)));
    }
    headers.extend([
        "Auto-Submitted: auto-replied".to_owned(),
        "MIME-Version: 1.0".to_owned(),
        "Content-Type: text/plain; charset=utf-8".to_owned(),
        "Content-Transfer-Encoding: base64".to_owned(),
    ]);
    let message = format!(
        "{}\r\n\r\n{}\r\n",
        headers.join("\r\n"),
        mime::base64_lines(text.as_bytes())
    );
    Ok(Some(HttpCall {
        method: "POST",
        url: format!("{MAILTO}{to}"),
        headers: vec![("From", from.to_owned())],
        body: Some(message),
        idempotent: false,
        follow_redirects: false,
    }))
}

fn outcome(_op: &Op, answer: &Answer<'_>) -> Outcome {
    match answer.status {
        200..=299 => Outcome::Done {
            provider_id: Some(answer.body.trim().to_owned()).filter(|id| !id.is_empty()),
        },
        403 => Outcome::Failed(Failure {
            code: "refused".into(),
            reason: format!("the send_email binding refused: {}", answer.body),
        }),
        _ => Outcome::Retry {
            reason: format!("the send_email binding failed: {}", answer.body),
        },
    }
}

#[cfg(test)]
#[path = "email_test.rs"]
mod tests;
