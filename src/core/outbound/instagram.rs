//! Sending through the Instagram API with Instagram Login (`graph.instagram.com`) with the
//! account's Instagram user access token: Messenger's Send API call
//! ([`super::messenger::messaging_request`]) on Instagram's host, from the Instagram
//! professional account the installation is (its tenant key). Texts are at most 1,000 UTF-8
//! bytes; the 24-hour window and the errors are Messenger's.
//!
//! Source: "Send messages" in the Instagram Platform's messaging API
//! (<https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api>).

use super::conversation::Op;
use super::messenger::{messaging_request, outcome};
use super::{Context, Failure, HttpCall, Sender, Target};
use crate::core::markdown::{Count, Format};

/// Instagram's sender.
pub const SENDER: Sender = Sender {
    format: Format::Plain(Count::Utf8),
    interval_ms: 1000,
    per_installation: None,
    typing: true,
    marks_read: true,
    starts_conversations: false,
    credential: "access_token",
    base_url_var: "INSTAGRAM_API_BASE_URL",
    request,
    outcome,
};

fn request(op: &Op, target: &Target, context: &Context<'_>) -> Result<Option<HttpCall>, Failure> {
    Ok(messaging_request(op, target, context, None))
}
