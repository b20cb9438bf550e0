//! Every manifest is validated against the JSON schema Slack publishes for app manifests
//! (`slackapi/manifest-schema`, `schemas/manifest.schema.1.0.0.json`, vendored unchanged in
//! `tests/fixtures/slack/`; see `tests/fixtures/README.md`).

use super::*;
use crate::core::route::Route;

const ORIGIN: &str = "https://edge.acme-corp.dev";

fn slack(name: &str) -> Profile<'_> {
    Profile {
        id: "app_0123456789abcdef0123456789abcdef",
        provider: Provider::Slack,
        name,
    }
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/slack/manifest.schema.1.0.0.json"
    ))
    .unwrap();
    jsonschema::validator_for(&schema).expect("Slack's manifest schema compiles")
}

fn schema_errors(manifest: &Value) -> Vec<String> {
    validator()
        .iter_errors(manifest)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect()
}

fn built(name: &str) -> Value {
    let manifest = manifest(&slack(name), ORIGIN).unwrap();
    let errors = schema_errors(&manifest);
    assert!(errors.is_empty(), "{errors:?}\n{manifest:#}");
    manifest
}

#[test]
fn a_manifest_matches_slacks_schema() {
    let manifest = built("Acme helpdesk");
    assert_eq!(manifest["display_information"]["name"], "Acme helpdesk");
    assert_eq!(
        manifest["features"]["bot_user"]["display_name"],
        "Acme helpdesk"
    );
    assert_eq!(manifest["_metadata"]["major_version"], 1);
}

#[test]
fn the_schema_refuses_what_slack_refuses() {
    // The vendored schema really checks: Slack's limits and required fields are in force.
    let mut manifest = built("Acme helpdesk");
    manifest["display_information"]["name"] = json!("x".repeat(36));
    assert!(!schema_errors(&manifest).is_empty());
    let mut manifest = built("Acme helpdesk");
    manifest["settings"]["interactivity"] = json!({"request_url": "https://x.example"});
    assert!(
        !schema_errors(&manifest).is_empty(),
        "is_enabled is required"
    );
    let mut manifest = built("Acme helpdesk");
    manifest["settings"]["event_subscriptions"]["request_url"] = json!("/webhooks/slack/x");
    assert!(
        !schema_errors(&manifest).is_empty(),
        "request URLs are absolute"
    );
}

#[test]
fn every_request_url_is_the_profiles_webhook() {
    let manifest = built("Acme helpdesk");
    let webhook = format!("{ORIGIN}/webhooks/slack/app_0123456789abcdef0123456789abcdef");
    assert_eq!(
        manifest["settings"]["event_subscriptions"]["request_url"],
        webhook.as_str()
    );
    assert_eq!(
        manifest["settings"]["interactivity"],
        json!({"is_enabled": true, "request_url": webhook})
    );
    assert_eq!(
        manifest["features"]["slash_commands"][0]["url"],
        webhook.as_str()
    );
    assert_eq!(
        manifest["features"]["slash_commands"][0]["command"],
        SLASH_COMMAND
    );
    assert_eq!(
        manifest["oauth_config"]["redirect_urls"],
        json!([format!("{ORIGIN}/oauth/slack/callback")])
    );
}

#[test]
fn the_urls_are_routes_the_worker_serves() {
    let manifest = built("Acme helpdesk");
    let path = |url: &Value| {
        url.as_str()
            .unwrap()
            .strip_prefix(ORIGIN)
            .unwrap()
            .to_owned()
    };
    let events = path(&manifest["settings"]["event_subscriptions"]["request_url"]);
    assert_eq!(
        Route::resolve("POST", &events),
        Route::Webhook {
            provider: Provider::Slack,
            id: "app_0123456789abcdef0123456789abcdef".into()
        }
    );
    let redirect = path(&manifest["oauth_config"]["redirect_urls"][0]);
    assert_eq!(Route::resolve("GET", &redirect), Route::SlackOauthCallback);
}

#[test]
fn a_trailing_slash_on_the_origin_is_ignored() {
    let with = manifest(&slack("A"), &format!("{ORIGIN}/")).unwrap();
    assert_eq!(with, manifest(&slack("A"), ORIGIN).unwrap());
}

#[test]
fn the_scopes_are_the_ones_binding_sessions_ask_for_and_cover_every_event() {
    let manifest = built("Acme helpdesk");
    let scopes: Vec<&str> = SLACK_SCOPES.split(',').collect();
    assert_eq!(manifest["oauth_config"]["scopes"], json!({"bot": scopes}));
    assert!(
        scopes.contains(&"chat:write"),
        "answers are sent as the bot"
    );
    assert!(scopes.contains(&"commands"), "the slash command needs it");
    for (event, scope) in BOT_EVENTS {
        assert!(scopes.contains(&scope), "{event} needs {scope}");
    }
    assert_eq!(
        manifest["settings"]["event_subscriptions"]["bot_events"],
        json!([
            "app_mention",
            "message.channels",
            "message.groups",
            "message.im"
        ])
    );
}

#[test]
fn the_app_is_reached_over_http_per_workspace_with_a_token_that_does_not_expire() {
    let settings = &built("Acme helpdesk")["settings"];
    assert_eq!(settings["socket_mode_enabled"], false);
    assert_eq!(settings["org_deploy_enabled"], false);
    assert_eq!(settings["token_rotation_enabled"], false);
    let home = &built("Acme helpdesk")["features"]["app_home"];
    assert_eq!(home["messages_tab_enabled"], true);
    assert_eq!(home["messages_tab_read_only_enabled"], false);
}

#[test]
fn long_names_are_cut_to_slacks_limits_at_character_boundaries() {
    let name = "Ünïcödé helpdesk for the whole Acme group of companies, worldwide and beyond";
    let manifest = built(name);
    let app = manifest["display_information"]["name"].as_str().unwrap();
    let bot = manifest["features"]["bot_user"]["display_name"]
        .as_str()
        .unwrap();
    assert_eq!(app.chars().count(), 35);
    assert!(name.starts_with(app));
    assert_eq!(
        bot, name,
        "under 80 characters, the bot keeps the whole name"
    );
    let longer = "é".repeat(100);
    let manifest = built(&longer);
    let bot = manifest["features"]["bot_user"]["display_name"]
        .as_str()
        .unwrap();
    assert_eq!(bot.chars().count(), 80);
}

#[test]
fn a_name_with_nothing_but_spaces_becomes_the_fallback() {
    let manifest = built("   ");
    assert_eq!(manifest["display_information"]["name"], FALLBACK_NAME);
    // Cutting never leaves a trailing space.
    let manifest = built(&format!("{} tail", "a".repeat(34)));
    assert_eq!(manifest["display_information"]["name"], "a".repeat(34));
}

#[test]
fn other_providers_have_no_slack_manifest() {
    for provider in Provider::ALL {
        if provider == Provider::Slack {
            continue;
        }
        let profile = Profile {
            id: "app_1",
            provider,
            name: "x",
        };
        let error = manifest(&profile, ORIGIN).unwrap_err();
        assert_eq!(error.status(), 422);
        assert_eq!(error.code(), "unsupported");
        assert!(error.to_string().contains(provider.as_str()), "{error}");
    }
}
