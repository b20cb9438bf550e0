//! Email at the edge: the Worker's email handler (`#[event(email)]`, Cloudflare Email
//! Routing) and sending through the `send_email` binding. The rules are
//! [`crate::core::ingress::email`]'s and [`crate::core::outbound::email`]'s.
//!
//! A message is refused (`setReject`, a bounce to the sender) when it is larger than
//! `WEBHOOK_MAX_BODY_BYTES`, when no installation has its address, or when it is not
//! authenticated; accepted otherwise (a duplicate or a dropped message too). When the queue
//! refuses it, it is refused as temporarily unavailable: an email handler cannot ask the sending
//! server to retry.

use crate::core::api_error::ApiError;
use crate::core::ingress::email::{
    self as rules, ENVELOPE_FROM, ENVELOPE_TO, REPLY_ADDRESS, THREAD,
};
use crate::core::log::Line;
use crate::core::metrics::Metric;
use crate::core::mime::Message;
use crate::core::outbound::{Answer, HttpCall};
use crate::core::tenancy::Provider;
use crate::edge::store::directory;
use crate::edge::store::rejections::{self, Audit};
use crate::edge::store::secrets::key_ring;
use crate::edge::{ingress, runtime};
use worker::{Context, EmailMessage, Env, ForwardableEmailMessage};

/// The `send_email` binding answers go through.
const BINDING: &str = "SEND_EMAIL";

/// Why a message is refused: a code for the log, the reason the sender's bounce gives.
type Refusal = (&'static str, String);

/// Receives one message; never fails (a failing email handler aborts the isolate): every
/// refusal is `setReject`. Each message ends with one structured log line (status 200
/// accepted, 400 refused), like an HTTP request's.
pub async fn receive(message: ForwardableEmailMessage, env: Env, ctx: Context) {
    let started = runtime::now_millis();
    let outcome = accept(&message, &env, &ctx).await;
    if let Err((code, reason)) = &outcome {
        message.set_reject(reason);
        if matches!(*code, "payload_too_large" | "unknown_or_revoked") {
            // Refused before the pipeline, which counts and audits its own refusals: counted
            // (and audited once a minute) per sending domain, never per address tried.
            let sender = message.from();
            let domain = sender.rsplit_once('@').map_or("unknown", |(_, d)| d);
            let source = format!("email from:{}", domain.to_ascii_lowercase());
            let count = (Metric::Rejected, *code, 1);
            let now = runtime::now_seconds();
            rejections::record_later(
                &ctx,
                &env,
                Provider::Email,
                source,
                count,
                Audit::FirstPerMinute,
                now,
            );
        }
    }
    let line = Line {
        event: "email",
        provider: Some(Provider::Email.as_str()),
        status: if outcome.is_ok() { 200 } else { 400 },
        latency_ms: runtime::now_millis().saturating_sub(started),
        reason: outcome.err().map(|(code, _)| code),
        ..Line::default()
    };
    worker::console_log!("{}", line.to_json());
}

async fn accept(
    message: &ForwardableEmailMessage,
    env: &Env,
    ctx: &Context,
) -> Result<(), Refusal> {
    // Compared as a float (the binding's size) but never formatted as one: float printing
    // would cost the Wasm ~14 KB.
    let limit = ingress::max_body_bytes(env);
    if message.raw_size() > limit as f64 {
        return Err((
            "payload_too_large",
            format!("message too large: at most {limit} bytes"),
        ));
    }
    let (from, to) = (message.from(), message.to());
    let no_mailbox = || ("unknown_or_revoked", "no such mailbox".to_owned());
    let recipient = rules::recipient(&to).ok_or_else(no_mailbox)?;
    let db = env.d1("DB").map_err(|_| unavailable())?;
    let now = runtime::now_seconds();
    let installation = directory::installation_by_provider_tenant(
        &db,
        env,
        Provider::Email,
        &recipient.address,
        now,
    )
    .await
    .map_err(|_| unavailable())?
    .ok_or_else(no_mailbox)?;
    let raw = message.raw_bytes().await.map_err(|_| unavailable())?;
    let ring = key_ring(env).map_err(|_| unavailable())?;
    let thread = recipient
        .thread(&ring, &installation.id)
        .or_else(|| Message::parse(&raw).and_then(|parsed| rules::thread_of(&parsed)));
    let mut headers = vec![
        (ENVELOPE_FROM.to_owned(), from),
        (ENVELOPE_TO.to_owned(), to),
    ];
    if let Some(thread) = thread {
        let reply_from = rules::reply_address(&ring, &installation.id, &recipient.address, &thread);
        headers.push((THREAD.to_owned(), thread));
        headers.push((REPLY_ADDRESS.to_owned(), reply_from));
    }
    match ingress::email(env, ctx, installation.id.clone(), headers, raw).await {
        Ok(_) => Ok(()),
        Err(ApiError::WebhookRejected { code, .. }) => Err((code, format!("refused: {code}"))),
        Err(_) => Err(unavailable()),
    }
}

fn unavailable() -> Refusal {
    (
        "unavailable",
        "temporarily unavailable: send the message again later".to_owned(),
    )
}

/// Sends `call` (a `mailto:` call of [`crate::core::outbound::email`]) through the binding and
/// answers as the sender's outcome reads it: 202 with the message id, 403 when the binding
/// refuses the address, 503 otherwise.
pub async fn send(env: &Env, call: &HttpCall, to: &str) -> (u16, String) {
    let from = call
        .headers
        .iter()
        .find(|(name, _)| *name == "From")
        .map(|(_, value)| value.as_str())
        .unwrap_or_default();
    let raw = call.body.as_deref().unwrap_or_default();
    let binding = match env.send_email(BINDING) {
        Ok(binding) => binding,
        Err(error) => return (503, format!("no {BINDING} binding: {error}")),
    };
    let message = match EmailMessage::new(from, to, raw) {
        Ok(message) => message,
        Err(error) => return (403, String::from(error.message())),
    };
    match binding.send(&message).await {
        Ok(sent) => (202, sent.message_id()),
        Err(error) => {
            let reason = String::from(error.message());
            let refused = reason.contains("not allowed") || reason.contains("suppressed");
            (if refused { 403 } else { 503 }, reason)
        }
    }
}

/// The answer of a [`send`] as a provider's.
pub fn answer<'a>(status: u16, body: &'a str) -> Answer<'a> {
    Answer {
        status,
        headers: &[],
        body,
    }
}
