//! The Slack app manifest of a Slack app profile: the JSON a Slack admin pastes into "Create New
//! App" → "From an app manifest" (or an existing app's "App Manifest" page), so that the app
//! sends its events, slash command and interactivity to this worker, sends admins back to its
//! OAuth callback, and asks for the scopes channel-edge uses.
//!
//! Sources: Slack's app manifest reference (<https://docs.slack.dev/reference/app-manifest>) and
//! the JSON schema Slack publishes for it (`slackapi/manifest-schema`,
//! `schemas/manifest.schema.1.0.0.json`, the schema of `_metadata.major_version` 1), which the
//! tests validate every manifest against.
//!
//! # What's in scope
//! - [`manifest`]: from the profile's id, provider and name and the worker's public origin:
//!   the app and bot names (the profile's name, cut to Slack's 35 and 80 characters), the
//!   Messages tab (so people can write to the bot), one slash command ([`SLASH_COMMAND`]),
//!   every request URL (events, slash command, interactivity) = `{origin}/webhooks/slack/{id}`,
//!   the OAuth redirect URL `{origin}/oauth/slack/callback`, the bot scopes binding sessions ask
//!   for ([`SLACK_SCOPES`]) and the bot events those scopes allow ([`BOT_EVENTS`]).
//! - Refusing a profile of another provider (422 `unsupported`).
//!
//! # What's out of scope
//! - Creating or updating the app at Slack (`apps.manifest.create` needs a configuration token
//!   the worker does not hold): the admin pastes the manifest.
//! - Icons, long descriptions, the Home tab, shortcuts, unfurls and user scopes: channel-edge
//!   uses none of them.
//! - Org-wide (Enterprise Grid) deployment (`org_deploy_enabled` is false: an `oauth` binding
//!   session installs into one workspace), Socket Mode (Slack POSTs to the worker) and token
//!   rotation (the worker keeps the bot token it is given and never refreshes it).

use crate::core::api_error::ApiError;
use crate::core::binding_session::SLACK_SCOPES;
use crate::core::tenancy::Provider;
use serde_json::{json, Value};

/// Slack's limit on `display_information.name`, in characters.
const APP_NAME_MAX_CHARS: usize = 35;
/// Slack's limit on `features.bot_user.display_name`, in characters.
const BOT_NAME_MAX_CHARS: usize = 80;
/// The name used when a profile's name has nothing left after trimming.
const FALLBACK_NAME: &str = "channel-edge";
/// `display_information.description` (at most 140 characters).
const DESCRIPTION: &str = "An AI agent, connected to Slack through channel-edge.";

/// The one slash command the manifest declares: its text reaches the agent as a `command` event
/// (`/agent <text>`). Rename it before pasting if the workspace already has an `/agent`.
pub const SLASH_COMMAND: &str = "/agent";

/// The bot events the manifest subscribes to, each with the bot scope Slack requires for it
/// (every one of them is in [`SLACK_SCOPES`]): mentions, and messages in public and private
/// channels the bot is in and in its direct messages.
pub const BOT_EVENTS: [(&str, &str); 4] = [
    ("app_mention", "app_mentions:read"),
    ("message.channels", "channels:history"),
    ("message.groups", "groups:history"),
    ("message.im", "im:history"),
];

/// What the manifest needs to know about an app profile.
#[derive(Debug, Clone, Copy)]
pub struct Profile<'a> {
    /// The app profile id (`app_…`), the last segment of its webhook URL.
    pub id: &'a str,
    /// Its provider: only [`Provider::Slack`] has a manifest.
    pub provider: Provider,
    /// Its name, which becomes the app's and the bot's name.
    pub name: &'a str,
}

/// The Slack app manifest of `profile`, with every URL under `public_base_url` (the worker's
/// `PUBLIC_BASE_URL`; a trailing `/` is ignored). A profile of another provider is 422
/// `unsupported`.
pub fn manifest(profile: &Profile<'_>, public_base_url: &str) -> Result<Value, ApiError> {
    if profile.provider != Provider::Slack {
        return Err(ApiError::Unprocessable {
            code: "unsupported",
            message: format!(
                "app profile {} is a {} profile: only Slack app profiles have a Slack app manifest",
                profile.id,
                profile.provider.as_str()
            ),
        });
    }
    let origin = public_base_url.trim_end_matches('/');
    let webhook = format!("{origin}/webhooks/slack/{}", profile.id);
    Ok(json!({
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": cut(profile.name, APP_NAME_MAX_CHARS),
            "description": DESCRIPTION,
        },
        "features": features(profile.name, &webhook),
        "oauth_config": {
            "redirect_urls": [format!("{origin}/oauth/slack/callback")],
            "scopes": {"bot": SLACK_SCOPES.split(',').collect::<Vec<_>>()},
        },
        "settings": settings(&webhook),
    }))
}

/// `features`: the Messages tab open for writing, the bot user, the slash command.
fn features(name: &str, webhook: &str) -> Value {
    json!({
        "app_home": {
            "home_tab_enabled": false,
            "messages_tab_enabled": true,
            "messages_tab_read_only_enabled": false,
        },
        "bot_user": {"display_name": cut(name, BOT_NAME_MAX_CHARS), "always_online": true},
        "slash_commands": [{
            "command": SLASH_COMMAND,
            "url": webhook,
            "description": "Ask the agent",
            "usage_hint": "[what you want to ask]",
            "should_escape": false,
        }],
    })
}

/// `settings`: events and interactivity to the webhook, no org-wide deploy, Socket Mode or
/// token rotation.
fn settings(webhook: &str) -> Value {
    json!({
        "event_subscriptions": {
            "request_url": webhook,
            "bot_events": BOT_EVENTS.map(|(event, _)| event),
        },
        "interactivity": {"is_enabled": true, "request_url": webhook},
        "org_deploy_enabled": false,
        "socket_mode_enabled": false,
        "token_rotation_enabled": false,
    })
}

/// `name` trimmed and cut to at most `max` characters (never inside one), or
/// [`FALLBACK_NAME`] when nothing is left.
fn cut(name: &str, max: usize) -> String {
    let cut: String = name.trim().chars().take(max).collect();
    match cut.trim_end() {
        "" => FALLBACK_NAME.to_owned(),
        kept => kept.to_owned(),
    }
}

#[cfg(test)]
#[path = "slack_manifest_test.rs"]
mod tests;
