//! Instagram messaging (the Instagram API with Instagram Login): the `messages`,
//! `messaging_postbacks` and `messaging_reactions` webhooks of the Instagram professional
//! accounts a Meta app serves, signed with the app's Instagram app secret. Verification, the
//! handshake and the events are Meta's ([`super::meta`]); this file says what is Instagram's own.
//!
//! # What's in scope
//! The spec: one webhook URL per Meta app (the app profile, which holds the Instagram app secret
//! and the handshake's verify token); an installation is an Instagram professional account
//! (tenant key: its id, `entry[].id`) holding its Instagram user access token; events are
//! one-to-one chats with a person's Instagram-scoped id. Instagram sends the account's own
//! messages back as echoes within `messages`: they produce no event.
//!
//! # What's out of scope
//! Everything [`super::meta`] leaves out, and Instagram messaging through a Facebook Page (the
//! Messenger Platform's Instagram variant).

use super::{
    meta, Capabilities, Form, GetHandshake, ParseError, Parsed, PathId, Request, Spec, Verification,
};
use crate::core::binding_session::Method;
use crate::core::tenancy::SecretOwner;

/// Instagram, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "instagram",
    path_id: PathId::AppProfile,
    get_handshake: Some(GetHandshake {
        secret: "verify_token",
        answer: meta::subscribe,
    }),
    profile_secrets: &[("app_secret", true), ("verify_token", true)],
    installation_credentials: &[("access_token", false)],
    verified_with: (SecretOwner::Profile, "app_secret"),
    verify: Verification::Core(meta::verify),
    parse,
    session_methods: &[Method::Token],
    deep_link: None,
    channel_name: Some("username"),
    url_forms: &[("instagram_account_id", Form::Digits)],
    tenant_key_field: Some("instagram_account_id"),
    // Meta retries a failed delivery for about a day and a half.
    dedupe_window_seconds: 48 * 3600,
    unsigned_event_time: true,
    capabilities: Capabilities {
        edits: false,
        deletes: false,
        threads: false,
        // UTF-8 bytes (the sender's format counts them).
        max_text_chars: Some(1000),
    },
    sender: Some(&crate::core::outbound::instagram::SENDER),
};

fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
    meta::messaging(request, "instagram")
}
