use super::*;
use crate::core::auth::{generate_key_pair, Scope};
use serde_json::json;

const NOW: u64 = 1_800_000_000;

fn body<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    parse(value.to_string().as_bytes())
}

fn public_key() -> String {
    generate_key_pair([3; 32]).1
}

#[test]
fn unknown_fields_and_bad_json_are_bad_requests() {
    let error = body::<NewOrg>(json!({"name": "a", "nmae": "b"})).unwrap_err();
    assert_eq!(error.status(), 400);
    assert!(error.to_string().contains("nmae"), "{error}");
    let error = parse::<NewOrg>(b"{not json").unwrap_err();
    assert_eq!(error.code(), "bad_request");
    let missing = body::<NewOrg>(json!({})).unwrap_err();
    assert!(missing.to_string().contains("name"), "{missing}");
}

#[test]
fn empty_names_are_refused() {
    let org: NewOrg = body(json!({"name": "  "})).unwrap();
    assert_eq!(
        org.validate(),
        Err(TenancyError::EmptyField { field: "name" }.into())
    );
}

#[test]
fn a_principal_is_granted_only_what_the_caller_holds() {
    let grantor = ScopeSet::parse("principals:write bindings:read").unwrap();
    let ok: NewPrincipal = body(json!({
        "name": "ci", "public_key": public_key(), "scopes": ["bindings:read"]
    }))
    .unwrap();
    assert_eq!(
        ok.validate(&grantor, NOW),
        Ok(ScopeSet::parse("bindings:read").unwrap())
    );
    let greedy: NewPrincipal = body(json!({
        "name": "ci", "public_key": public_key(), "scopes": ["bindings:read", "audit:read"]
    }))
    .unwrap();
    assert_eq!(
        greedy.validate(&grantor, NOW),
        Err(ApiError::Auth(AuthError::MissingScope {
            scope: Scope::AuditRead
        }))
    );
    let root = ScopeSet::parse("*").unwrap();
    let escalate: NewPrincipal = body(json!({
        "name": "x", "public_key": public_key(), "scopes": ["*"]
    }))
    .unwrap();
    assert_eq!(escalate.validate(&grantor, NOW).unwrap_err().status(), 403);
    assert!(escalate.validate(&root, NOW).is_ok());
}

#[test]
fn a_principal_needs_a_valid_key_scopes_and_a_future_expiry() {
    let root = ScopeSet::parse("*").unwrap();
    let bad_key: NewPrincipal =
        body(json!({"name": "x", "public_key": "abc", "scopes": ["audit:read"]})).unwrap();
    assert_eq!(bad_key.validate(&root, NOW).unwrap_err().status(), 400);
    let no_scopes: NewPrincipal =
        body(json!({"name": "x", "public_key": public_key(), "scopes": []})).unwrap();
    assert_eq!(no_scopes.validate(&root, NOW).unwrap_err().status(), 400);
    let unknown: NewPrincipal =
        body(json!({"name": "x", "public_key": public_key(), "scopes": ["root"]})).unwrap();
    assert_eq!(
        unknown.validate(&root, NOW),
        Err(ApiError::BadRequest {
            message: "unknown scope \"root\"".into()
        })
    );
    let past: NewPrincipal = body(json!({
        "name": "x", "public_key": public_key(), "scopes": ["audit:read"], "expires_at": NOW
    }))
    .unwrap();
    assert_eq!(past.validate(&root, NOW).unwrap_err().status(), 400);
}

#[test]
fn key_rotation_needs_a_valid_key() {
    let good: RotateKey = body(json!({"public_key": public_key()})).unwrap();
    assert_eq!(good.validate(), Ok(()));
    let bad: RotateKey = body(json!({"public_key": "AAAA"})).unwrap();
    assert_eq!(bad.validate().unwrap_err().status(), 400);
}

#[test]
fn app_profiles_check_owner_and_secrets() {
    let byoa_without_org: NewAppProfile = body(json!({
        "provider": "slack", "kind": "byoa", "provider_app_id": "A1", "name": "n",
        "secrets": {"signing_secret": "s"}
    }))
    .unwrap();
    assert_eq!(
        byoa_without_org.validate(),
        Err(TenancyError::ByoaNeedsOrg.into())
    );
    let missing_secret: NewAppProfile = body(json!({
        "provider": "whatsapp", "kind": "platform", "provider_app_id": "1", "name": "n",
        "secrets": {"app_secret": "s"}
    }))
    .unwrap();
    assert_eq!(missing_secret.validate().unwrap_err().status(), 422);
    let unknown_provider = body::<NewAppProfile>(json!({
        "provider": "icq", "kind": "platform", "provider_app_id": "1", "name": "n"
    }))
    .unwrap_err();
    assert_eq!(unknown_provider.status(), 400);
    let ok: NewAppProfile = body(json!({
        "provider": "discord", "kind": "platform", "provider_app_id": "1", "name": "n",
        "secrets": {"public_key": "abcd"}
    }))
    .unwrap();
    assert_eq!(ok.validate(), Ok(()));
}

#[test]
fn secrets_never_show_in_debug_output() {
    let profile: NewAppProfile = body(json!({
        "provider": "slack", "kind": "platform", "provider_app_id": "A1", "name": "n",
        "secrets": {"signing_secret": "very-secret-value"}
    }))
    .unwrap();
    let debug = format!("{profile:?}");
    assert!(!debug.contains("very-secret-value"), "{debug}");
    assert!(debug.contains("<redacted>"));
}

#[test]
fn installations_check_required_credentials() {
    let telegram: NewInstallation = body(json!({
        "app_profile_id": "app_1", "org_id": "org_1", "tenant_key": "123",
        "credentials": {"bot_token": "123:abc"}
    }))
    .unwrap();
    assert_eq!(
        telegram.validate(Provider::Telegram).unwrap_err().status(),
        422
    );
    assert_eq!(telegram.validate(Provider::Slack), Ok(()));
    let empty_tenant: NewInstallation = body(json!({
        "app_profile_id": "app_1", "org_id": "org_1", "tenant_key": ""
    }))
    .unwrap();
    assert_eq!(
        empty_tenant.validate(Provider::Slack),
        Err(TenancyError::EmptyField {
            field: "tenant_key"
        }
        .into())
    );
}

#[test]
fn rotation_defaults_and_limits_the_grace_period() {
    let rotate: RotateSecrets = body(json!({"secrets": {"signing_secret": "new"}})).unwrap();
    assert_eq!(
        rotate.validate(Provider::Slack, SecretOwner::Profile),
        Ok(DEFAULT_GRACE_SECONDS)
    );
    let long: RotateSecrets = body(json!({
        "secrets": {"signing_secret": "new"}, "grace_seconds": MAX_GRACE_SECONDS + 1
    }))
    .unwrap();
    assert_eq!(
        long.validate(Provider::Slack, SecretOwner::Profile)
            .unwrap_err()
            .status(),
        400
    );
    let nothing: RotateSecrets = body(json!({"secrets": {}})).unwrap();
    assert_eq!(
        nothing
            .validate(Provider::Slack, SecretOwner::Profile)
            .unwrap_err()
            .status(),
        400
    );
    let wrong: RotateSecrets = body(json!({"secrets": {"bot_token": "x"}})).unwrap();
    assert_eq!(
        wrong
            .validate(Provider::Slack, SecretOwner::Profile)
            .unwrap_err()
            .status(),
        422
    );
}

#[test]
fn bindings_default_to_a_deny_all_allowlist() {
    let binding: NewBinding =
        body(json!({"installation_id": "ins_1", "agent_id": "agent_1"})).unwrap();
    assert_eq!(binding.validate(), Ok(()));
    assert_eq!(binding.sender_policy, SenderPolicy::Allowlist);
    assert!(binding.allowlist.is_empty());
    assert_eq!(binding.selector, Selector::default());
    let blank: NewBinding = body(json!({
        "installation_id": "ins_1", "agent_id": "a", "allowlist": [""]
    }))
    .unwrap();
    assert_eq!(blank.validate().unwrap_err().status(), 422);
    let entry: NewAllowlistEntry = body(json!({"sender_id": ""})).unwrap();
    assert_eq!(entry.validate().unwrap_err().status(), 422);
}

#[test]
fn rollout_keys_are_star_or_a_provider() {
    assert_eq!(check_rollout_key("*"), Ok(()));
    assert_eq!(check_rollout_key("slack"), Ok(()));
    assert_eq!(check_rollout_key("icq").unwrap_err().status(), 422);
    let change: FlagChange = body(json!({"stage": "canary", "canary_org_ids": ["org_1"]})).unwrap();
    assert_eq!(change.stage, Stage::Canary);
    assert!(body::<FlagChange>(json!({"stage": "maybe"})).is_err());
}

#[test]
fn pages_have_bounded_limits() {
    assert_eq!(
        Page::from_query([]),
        Ok(Page {
            limit: DEFAULT_PAGE,
            cursor: None
        })
    );
    assert_eq!(
        Page::from_query([("limit", "10"), ("cursor", "org_5"), ("other", "x")]),
        Ok(Page {
            limit: 10,
            cursor: Some("org_5".into())
        })
    );
    for bad in ["0", "201", "ten", "-1"] {
        assert_eq!(
            Page::from_query([("limit", bad)]).unwrap_err().status(),
            400,
            "{bad}"
        );
    }
}

#[test]
fn install_tokens_live_900_seconds_by_default_and_at_most_an_hour() {
    let token = |extra: serde_json::Value| {
        let mut request = json!({"org_id": "org_1", "agent_id": "agent_x", "subject": "u1"});
        request
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body::<NewInstallToken>(request).unwrap()
    };
    assert_eq!(token(json!({})).validate().unwrap(), 900);
    assert_eq!(
        token(json!({"ttl_seconds": 3600})).validate().unwrap(),
        3600
    );
    for ttl in [0, 3601] {
        let error = token(json!({"ttl_seconds": ttl})).validate().unwrap_err();
        assert_eq!(error.status(), 400, "{ttl}");
    }
    let empty = token(json!({"subject": " "})).validate().unwrap_err();
    assert!(empty.to_string().contains("subject"), "{empty}");
    assert_eq!(
        token(json!({"provider": "telegram"})).provider,
        Some(Provider::Telegram)
    );
    assert!(
        body::<NewInstallToken>(json!({"org_id": "o", "agent_id": "a", "subject": "s",
        "provider": "icq"}))
        .is_err()
    );
}
