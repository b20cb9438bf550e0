//! Facebook Messenger (Meta's Messenger Platform): the `messages`, `messaging_postbacks` and
//! `message_reactions` webhooks of the Facebook Pages a Meta app serves, signed with the app's
//! secret. Verification, the handshake and the events are Meta's ([`super::meta`]); this file
//! says what is Messenger's own.
//!
//! # What's in scope
//! The spec: one webhook URL per Meta app (the app profile, which holds the app secret and the
//! handshake's verify token); an installation is a Page (tenant key: the Page id, `entry[].id`)
//! holding its Page access token; events are one-to-one chats with a person's page-scoped id.
//!
//! # What's out of scope
//! Everything [`super::meta`] leaves out.

use super::{
    meta, Capabilities, Form, GetHandshake, ParseError, Parsed, PathId, Request, Spec, Verification,
};
use crate::core::binding_session::Method;
use crate::core::tenancy::SecretOwner;

/// Messenger, as [`crate::core::tenancy::Provider`] registers it.
pub const SPEC: Spec = Spec {
    name: "messenger",
    path_id: PathId::AppProfile,
    get_handshake: Some(GetHandshake {
        secret: "verify_token",
        answer: meta::subscribe,
    }),
    profile_secrets: &[("app_secret", true), ("verify_token", true)],
    installation_credentials: &[("page_access_token", false)],
    verified_with: (SecretOwner::Profile, "app_secret"),
    verify: Verification::Core(meta::verify),
    parse,
    session_methods: &[Method::Token],
    deep_link: None,
    channel_name: Some("name"),
    url_forms: &[("page_id", Form::Digits)],
    tenant_key_field: Some("page_id"),
    // Meta retries a failed delivery for about a day and a half.
    dedupe_window_seconds: 48 * 3600,
    unsigned_event_time: true,
    capabilities: Capabilities {
        edits: false,
        deletes: false,
        threads: false,
        max_text_chars: Some(2000),
    },
    sender: Some(&crate::core::outbound::messenger::SENDER),
};

fn parse(request: &Request<'_>) -> Result<Parsed, ParseError> {
    meta::messaging(request, "page")
}
