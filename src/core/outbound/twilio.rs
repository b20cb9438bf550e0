//! Sending SMS and WhatsApp messages through Twilio's Messages API with the installation's
//! account SID (its metadata's `account_sid`, checked for Twilio's form: it goes into the URL)
//! and auth token.
//!
//! - Send: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, a form with `To` (the
//!   conversation: `+1555…`, or `whatsapp:+1555…`), `From` and `Body`, with HTTP Basic
//!   authentication. `From` is the number the answered message was written to, else the
//!   installation's number (its tenant key), given the conversation's `whatsapp:` prefix.
//! - Twilio cannot edit or delete a sent message: a stream is sent once, when final. Texts are
//!   split at 1,600 characters; one message a second per number.
//! - Answers: 201 names the message `sid`; 429 (or code 20429) waits; 5xx is retried; 21211 is
//!   `conversation_not_found`, 21610 `blocked` (the recipient sent STOP), 63016
//!   `window_closed` (WhatsApp's 24 hours passed: only a template may be sent), 20003
//!   `credentials`.
//!
//! Source: "Messages resource" (<https://www.twilio.com/docs/messaging/api/message-resource>) and
//! Twilio's error dictionary.

use super::conversation::{Op, Outcome};
use super::slack::quoted;
use super::{seconds_to_ms, Answer, Context, Failure, HttpCall, Rate, Sender, Target};
use crate::core::json;
use crate::core::markdown::{Count, Format};
use crate::core::tenancy::{check_form, Provider};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

/// Twilio's sender.
pub const SENDER: Sender = Sender {
    format: Format::Plain(Count::Chars),
    interval_ms: 1000,
    // A long code sends about one message a second.
    per_installation: Some(Rate {
        calls: 1,
        per_ms: 1000,
    }),
    typing: false,
    marks_read: false,
    starts_conversations: true,
    credential: "auth_token",
    base_url_var: "TWILIO_API_BASE_URL",
    request,
    outcome,
};

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    let Op::Send { text, .. } = op else {
        return Ok(None);
    };
    let account = json::text(context.metadata, "/account_sid").unwrap_or_default();
    check_form(Provider::Twilio, "account_sid", account).map_err(|error| Failure {
        code: "credentials".into(),
        reason: format!("the installation's metadata account_sid: {error}"),
    })?;
    let from = from(target, context);
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("To", &target.conversation_id)
        .append_pair("From", &from)
        .append_pair("Body", text)
        .finish();
    let basic = STANDARD.encode(format!("{account}:{}", context.credential));
    Ok(Some(HttpCall {
        method: "POST",
        url: format!(
            "{}/2010-04-01/Accounts/{account}/Messages.json",
            context.base_url.trim_end_matches('/'),
        ),
        headers: vec![
            ("Authorization", format!("Basic {basic}")),
            (
                "Content-Type",
                "application/x-www-form-urlencoded".to_owned(),
            ),
        ],
        body: Some(form),
        idempotent: false,
        follow_redirects: true,
    }))
}

/// The number to send from: the one the answered message was written to, else the
/// installation's own, with the conversation's `whatsapp:` prefix.
fn from(target: &Target, context: &Context<'_>) -> String {
    let answered = context.handles.get("number").and_then(Value::as_str);
    let number = answered.unwrap_or(context.tenant_key);
    let bare = number.trim_start_matches("whatsapp:");
    if target.conversation_id.starts_with("whatsapp:") {
        format!("whatsapp:{bare}")
    } else {
        bare.to_owned()
    }
}

fn outcome(_op: &Op, answer: &Answer<'_>) -> Outcome {
    let body: Value = serde_json::from_str(answer.body).unwrap_or(Value::Null);
    let code = json::at(&body, "/code").as_u64();
    if answer.status == 429 || code == Some(20429) {
        return Outcome::RateLimited {
            after_ms: seconds_to_ms(answer.header("retry-after")),
        };
    }
    if answer.status >= 500 {
        return Outcome::Retry {
            reason: format!("Twilio answered HTTP {}", answer.status),
        };
    }
    if (200..300).contains(&answer.status) {
        let provider_id = json::text(&body, "/sid").map(str::to_owned);
        return Outcome::Done { provider_id };
    }
    let message = json::text(&body, "/message").unwrap_or("no reason given");
    let kind = match (answer.status, code) {
        (401, _) | (_, Some(20003)) => "credentials",
        (_, Some(21211 | 21614)) => "conversation_not_found",
        (_, Some(21610)) => "blocked",
        (_, Some(63016)) => "window_closed",
        _ => "refused",
    };
    Outcome::Failed(Failure {
        code: kind.to_owned(),
        reason: format!("Twilio refused: {}", quoted(message)),
    })
}

#[cfg(test)]
#[path = "twilio_test.rs"]
mod tests;
