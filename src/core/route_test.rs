use super::*;
use crate::core::tenancy::Provider;

fn admin(route: Route) -> Admin {
    match route {
        Route::Admin(admin) => admin,
        other => panic!("not an admin route: {other:?}"),
    }
}

#[test]
fn healthz_answers_get_and_head() {
    assert_eq!(Route::resolve("GET", "/healthz"), Route::Healthz);
    assert_eq!(Route::resolve("HEAD", "/healthz"), Route::Healthz);
    assert_eq!(Route::resolve("GET", "/v1/openapi.json"), Route::OpenApi);
}

#[test]
fn a_known_path_with_the_wrong_method_lists_the_allowed_ones() {
    assert_eq!(
        Route::resolve("POST", "/healthz"),
        Route::MethodNotAllowed {
            allow: "GET, HEAD".into()
        }
    );
    assert_eq!(
        Route::resolve("DELETE", "/v1/orgs"),
        Route::MethodNotAllowed {
            allow: "GET, HEAD, POST".into()
        }
    );
}

#[test]
fn unknown_paths_are_not_found() {
    for path in [
        "/",
        "/healthz/",
        "/HEALTHZ",
        "/nope",
        "",
        "/healthz/extra",
        "/v1/orgs/",
        "/v1/orgs/org_1/rotate",
        "/v1/bindings/b_1/rotate",
    ] {
        assert_eq!(Route::resolve("GET", path), Route::NotFound, "{path:?}");
    }
}

#[test]
fn resources_have_create_list_get_and_revoke() {
    let cases = [
        ("/v1/principals", Resource::Principals),
        ("/v1/orgs", Resource::Orgs),
        ("/v1/app-profiles", Resource::AppProfiles),
        ("/v1/installations", Resource::Installations),
        ("/v1/bindings", Resource::Bindings),
    ];
    for (path, resource) in cases {
        assert_eq!(admin(Route::resolve("POST", path)), Admin::Create(resource));
        assert_eq!(admin(Route::resolve("GET", path)), Admin::List(resource));
        assert_eq!(
            admin(Route::resolve("GET", &format!("{path}/x_1"))),
            Admin::Get(resource, "x_1".into())
        );
        assert_eq!(
            admin(Route::resolve("POST", &format!("{path}/x_1/revoke"))),
            Admin::Revoke(resource, "x_1".into())
        );
    }
}

#[test]
fn principals_profiles_and_installations_rotate() {
    let rotate = |path: &str| admin(Route::resolve("POST", path));
    assert_eq!(
        rotate("/v1/principals/x_1/rotate"),
        Admin::RotatePrincipalKey("x_1".into())
    );
    assert_eq!(
        rotate("/v1/app-profiles/x_1/rotate"),
        Admin::RotateProfileSecrets("x_1".into())
    );
    assert_eq!(
        rotate("/v1/installations/x_1/rotate"),
        Admin::RotateInstallationCredentials("x_1".into())
    );
}

#[test]
fn app_profiles_have_a_slack_manifest() {
    assert_eq!(
        admin(Route::resolve(
            "GET",
            "/v1/app-profiles/app_1/slack-manifest"
        )),
        Admin::SlackManifest("app_1".into())
    );
    assert_eq!(
        Route::resolve("GET", "/v1/app-profiles/app_1/slack-manifest/x"),
        Route::NotFound
    );
}

#[test]
fn allowlist_rollout_audit_and_master_key_routes() {
    assert_eq!(
        admin(Route::resolve("GET", "/v1/bindings/b_1/allowlist")),
        Admin::AllowlistList("b_1".into())
    );
    assert_eq!(
        admin(Route::resolve("POST", "/v1/bindings/b_1/allowlist")),
        Admin::AllowlistAdd("b_1".into())
    );
    assert_eq!(
        admin(Route::resolve(
            "DELETE",
            "/v1/bindings/b_1/allowlist/%2B1555%20x"
        )),
        Admin::AllowlistRemove("b_1".into(), "+1555 x".into())
    );
    assert_eq!(
        admin(Route::resolve("GET", "/v1/rollout")),
        Admin::RolloutList
    );
    assert_eq!(
        admin(Route::resolve("PUT", "/v1/rollout/%2A")),
        Admin::RolloutSet("*".into())
    );
    assert_eq!(admin(Route::resolve("GET", "/v1/audit")), Admin::AuditList);
    assert_eq!(
        admin(Route::resolve("GET", "/v1/audit/verify")),
        Admin::AuditVerify
    );
    assert_eq!(
        admin(Route::resolve("POST", "/v1/master-key/rotate")),
        Admin::MasterKeyRotate
    );
    assert_eq!(
        admin(Route::resolve("POST", "/v1/install-tokens")),
        Admin::MintInstallToken
    );
    let sessions = [
        ("POST", "/v1/binding-sessions", Admin::StartBindingSession),
        ("GET", "/v1/binding-sessions", Admin::ListBindingSessions),
        (
            "GET",
            "/v1/binding-sessions/bss_1",
            Admin::GetBindingSession("bss_1".into()),
        ),
        (
            "DELETE",
            "/v1/binding-sessions/bss_1",
            Admin::CancelBindingSession("bss_1".into()),
        ),
        (
            "POST",
            "/v1/binding-sessions/bss_1/credentials",
            Admin::BindingSessionCredentials("bss_1".into()),
        ),
        (
            "GET",
            "/v1/binding-sessions/bss_1/events",
            Admin::BindingSessionEvents("bss_1".into()),
        ),
    ];
    for (method, path, endpoint) in sessions {
        assert_eq!(
            admin(Route::resolve(method, path)),
            endpoint,
            "{method} {path}"
        );
    }
}

#[test]
fn bad_percent_escapes_are_not_found() {
    assert_eq!(Route::resolve("GET", "/v1/orgs/%zz"), Route::NotFound);
    assert_eq!(Route::resolve("GET", "/v1/orgs/%2"), Route::NotFound);
    assert_eq!(Route::resolve("GET", "/v1/orgs/%ff"), Route::NotFound);
}

#[test]
fn every_endpoint_needs_the_documented_scope() {
    use Scope::*;
    let table = [
        (Admin::Create(Resource::Principals), PrincipalsWrite),
        (Admin::List(Resource::Orgs), ProfilesRead),
        (Admin::Get(Resource::AppProfiles, "a".into()), ProfilesRead),
        (Admin::SlackManifest("a".into()), ProfilesRead),
        (Admin::Create(Resource::Orgs), ProfilesWrite),
        (Admin::List(Resource::Installations), InstallationsRead),
        (
            Admin::Get(Resource::Principals, "p".into()),
            PrincipalsWrite,
        ),
        (Admin::RotatePrincipalKey("p".into()), PrincipalsWrite),
        (Admin::RotateProfileSecrets("a".into()), ProfilesWrite),
        (
            Admin::RotateInstallationCredentials("i".into()),
            InstallationsWrite,
        ),
        (
            Admin::Revoke(Resource::Installations, "i".into()),
            InstallationsWrite,
        ),
        (Admin::Create(Resource::Bindings), BindingsWrite),
        (Admin::Get(Resource::Bindings, "b".into()), BindingsRead),
        (Admin::AllowlistList("b".into()), BindingsRead),
        (Admin::AllowlistAdd("b".into()), BindingsWrite),
        (
            Admin::AllowlistRemove("b".into(), "s".into()),
            BindingsWrite,
        ),
        (Admin::RolloutSet("*".into()), RolloutWrite),
        (Admin::AuditVerify, AuditRead),
        (Admin::MasterKeyRotate, All),
        (Admin::MintInstallToken, InstallTokensMint),
        (Admin::StartBindingSession, BindingsWrite),
        (Admin::ListBindingSessions, BindingsRead),
        (Admin::GetBindingSession("s".into()), BindingsRead),
        (Admin::CancelBindingSession("s".into()), BindingsWrite),
        (Admin::BindingSessionCredentials("s".into()), BindingsWrite),
        (Admin::BindingSessionEvents("s".into()), BindingsRead),
        (Admin::SendMessage, MessagesSend),
        (Admin::GetMessage("m".into()), MessagesSend),
        (Admin::EditMessage("m".into()), MessagesSend),
        (Admin::DeleteMessage("m".into()), MessagesSend),
    ];
    for (endpoint, scope) in table {
        assert_eq!(endpoint.scope(), scope, "{endpoint:?}");
    }
}

#[test]
fn orgs_alone_are_also_read_with_installations_read() {
    let orgs = [
        Admin::List(Resource::Orgs),
        Admin::Get(Resource::Orgs, "org_a".into()),
    ];
    for endpoint in orgs {
        assert_eq!(endpoint.alternative_scope(), Some(Scope::InstallationsRead));
    }
    for endpoint in [
        Admin::List(Resource::AppProfiles),
        Admin::Get(Resource::AppProfiles, "app_a".into()),
        Admin::Create(Resource::Orgs),
        Admin::Revoke(Resource::Orgs, "org_a".into()),
    ] {
        assert_eq!(endpoint.alternative_scope(), None, "{endpoint:?}");
    }
}

#[test]
fn only_rotating_ones_own_key_is_self_service() {
    assert!(Admin::RotatePrincipalKey("prn_a".into()).is_self_service("prn_a"));
    assert!(!Admin::RotatePrincipalKey("prn_b".into()).is_self_service("prn_a"));
    assert!(!Admin::Revoke(Resource::Principals, "prn_a".into()).is_self_service("prn_a"));
    assert!(!Admin::Get(Resource::Principals, "prn_a".into()).is_self_service("prn_a"));
}

#[test]
fn templates_capture_segments_in_order() {
    assert_eq!(
        match_template("/a/{x}/b/{y}", "/a/1/b/2"),
        Some(vec!["1".to_owned(), "2".to_owned()])
    );
    assert_eq!(match_template("/a/{x}", "/a/"), None);
    assert_eq!(match_template("/a/{x}", "/a"), None);
    assert_eq!(match_template("/a/{x}", "/a/1/2"), None);
    assert_eq!(match_template("/a/{x}", "/b/1"), None);
}

#[test]
fn webhooks_route_by_provider_and_path_id() {
    for provider in Provider::ALL.into_iter().filter(|p| p.receives_webhooks()) {
        assert_eq!(
            Route::resolve("POST", &format!("/webhooks/{}/x_1", provider.as_str())),
            Route::Webhook {
                provider,
                id: "x_1".into()
            }
        );
    }
    // Email arrives only through the email handler.
    assert_eq!(
        Route::resolve("POST", "/webhooks/email/ins_1"),
        Route::NotFound
    );
    assert_eq!(
        Route::resolve("GET", "/webhooks/whatsapp/app_1"),
        Route::WebhookHandshake {
            provider: Provider::Whatsapp,
            id: "app_1".into()
        }
    );
    assert_eq!(
        Route::resolve("PUT", "/webhooks/whatsapp/app_1"),
        Route::MethodNotAllowed {
            allow: "GET, HEAD, POST".into()
        }
    );
    assert_eq!(
        Route::resolve("GET", "/webhooks/slack/app_1"),
        Route::MethodNotAllowed {
            allow: "POST".into()
        }
    );
    assert_eq!(Route::resolve("POST", "/webhooks/icq/x"), Route::NotFound);
    assert_eq!(Route::resolve("POST", "/webhooks/slack/"), Route::NotFound);
}

#[test]
fn binding_pages_are_routed_outside_the_admin_api() {
    assert_eq!(
        Route::resolve("GET", "/bind/bss_1"),
        Route::BindPage { id: "bss_1".into() }
    );
    assert_eq!(
        Route::resolve("GET", "/bind/bss_1/events"),
        Route::BindEvents { id: "bss_1".into() }
    );
    assert_eq!(
        Route::resolve("GET", "/oauth/slack/callback"),
        Route::SlackOauthCallback
    );
    assert!(matches!(
        Route::resolve("POST", "/bind/bss_1"),
        Route::MethodNotAllowed { .. }
    ));
}

#[test]
fn query_pairs_are_decoded_in_order() {
    assert_eq!(
        query_pairs("https://edge.example/bind/x?t=1.a%2Bb&t=2&empty=#frag?x=y"),
        vec![
            ("t".to_owned(), "1.a+b".to_owned()),
            ("t".to_owned(), "2".to_owned()),
            ("empty".to_owned(), String::new()),
        ]
    );
    assert_eq!(
        query_pairs("https://edge.example/v1/orgs?status=active+x"),
        vec![("status".to_owned(), "active x".to_owned())]
    );
    assert!(query_pairs("https://edge.example/healthz").is_empty());
    assert!(query_pairs("https://edge.example/x?").is_empty());
}

#[test]
fn messages_are_sent_read_edited_and_deleted() {
    assert_eq!(
        Route::resolve("POST", "/v1/messages"),
        Route::Admin(Admin::SendMessage)
    );
    for (method, endpoint) in [
        ("GET", Admin::GetMessage("msg_1".into())),
        ("PATCH", Admin::EditMessage("msg_1".into())),
        ("DELETE", Admin::DeleteMessage("msg_1".into())),
    ] {
        assert_eq!(
            Route::resolve(method, "/v1/messages/msg_1"),
            Route::Admin(endpoint)
        );
    }
    assert_eq!(
        Route::resolve("PUT", "/v1/messages/msg_1"),
        Route::MethodNotAllowed {
            allow: "DELETE, GET, HEAD, PATCH".into()
        }
    );
}
