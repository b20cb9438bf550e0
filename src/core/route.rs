//! The route table: which handler a method and path belong to.
//!
//! The edge layer asks [`Route::resolve`] and dispatches on the answer, so every URL the worker
//! answers is listed in its `TABLE`, in one place, and tested natively. Templates are matched
//! segment by segment; a `{name}` segment captures one non-empty path segment. `HEAD` is served
//! wherever `GET` is.

use crate::core::auth::Scope;
use crate::core::tenancy::Provider;

/// A request's destination, decided from its method and path alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`: bindings and their reachability.
    Healthz,
    /// `GET /v1/openapi.json`: the admin API's OpenAPI document (no auth).
    OpenApi,
    /// An authenticated admin endpoint.
    Admin(Admin),
    /// `POST /webhooks/{provider}/{id}`: a provider's webhook. `id` names the app profile or the
    /// installation, as the provider's spec says.
    Webhook {
        /// The provider.
        provider: Provider,
        /// The app profile or installation id in the path.
        id: String,
    },
    /// `GET /webhooks/{provider}/{id}` for a provider with a `GET` handshake (WhatsApp's
    /// subscription check).
    WebhookHandshake {
        /// The provider.
        provider: Provider,
        /// The app profile id in the path.
        id: String,
    },
    /// `GET /bind/{id}?t=…`: a binding session's page, for whoever holds the signed link.
    BindPage {
        /// The session id.
        id: String,
    },
    /// `GET /bind/{id}/events?t=…`: the page's live status (Server-Sent Events).
    BindEvents {
        /// The session id.
        id: String,
    },
    /// `GET /oauth/slack/callback?code=…&state=…`: Slack sends the admin back here after
    /// consent in an `oauth` binding session.
    SlackOauthCallback,
    /// The path is known but not for this method.
    MethodNotAllowed {
        /// Value for the `Allow` response header.
        allow: String,
    },
    /// No route has this path.
    NotFound,
}

/// A collection the admin API manages with create / list / get / rotate / revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `/v1/principals`
    Principals,
    /// `/v1/orgs`
    Orgs,
    /// `/v1/app-profiles`
    AppProfiles,
    /// `/v1/installations`
    Installations,
    /// `/v1/bindings`
    Bindings,
}

impl Resource {
    /// The scope that changes this resource.
    pub fn write_scope(self) -> Scope {
        match self {
            Resource::Principals => Scope::PrincipalsWrite,
            Resource::Orgs | Resource::AppProfiles => Scope::ProfilesWrite,
            Resource::Installations => Scope::InstallationsWrite,
            Resource::Bindings => Scope::BindingsWrite,
        }
    }

    /// The scope that reads it (each `…:write` includes its `…:read`); principals have no read
    /// scope of their own and are read with `principals:write`.
    pub fn read_scope(self) -> Scope {
        match self {
            Resource::Principals => Scope::PrincipalsWrite,
            Resource::Orgs | Resource::AppProfiles => Scope::ProfilesRead,
            Resource::Installations => Scope::InstallationsRead,
            Resource::Bindings => Scope::BindingsRead,
        }
    }
}

/// An admin endpoint, with the ids its path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admin {
    /// `POST /v1/<resource>`
    Create(Resource),
    /// `GET /v1/<resource>`
    List(Resource),
    /// `GET /v1/<resource>/{id}`
    Get(Resource, String),
    /// `POST /v1/principals/{id}/rotate`: a new public key.
    RotatePrincipalKey(String),
    /// `POST /v1/app-profiles/{id}/rotate`: new secrets, the old ones kept for a grace period.
    RotateProfileSecrets(String),
    /// `GET /v1/app-profiles/{id}/slack-manifest`: the Slack app manifest of a Slack profile.
    SlackManifest(String),
    /// `POST /v1/installations/{id}/rotate`: new credentials, likewise.
    RotateInstallationCredentials(String),
    /// `POST /v1/<resource>/{id}/revoke`
    Revoke(Resource, String),
    /// `GET /v1/bindings/{id}/allowlist`
    AllowlistList(String),
    /// `POST /v1/bindings/{id}/allowlist`
    AllowlistAdd(String),
    /// `DELETE /v1/bindings/{id}/allowlist/{sender_id}`
    AllowlistRemove(String, String),
    /// `GET /v1/rollout`
    RolloutList,
    /// `PUT /v1/rollout/{key}` (`*` or a provider)
    RolloutSet(String),
    /// `GET /v1/audit`
    AuditList,
    /// `GET /v1/audit/verify`
    AuditVerify,
    /// `POST /v1/master-key/rotate`: re-seal every secret under the current master key.
    MasterKeyRotate,
    /// `POST /v1/install-tokens`: mint an install token.
    MintInstallToken,
    /// `POST /v1/binding-sessions`: start a binding session.
    StartBindingSession,
    /// `GET /v1/binding-sessions` (`?status=active` for those that have not ended).
    ListBindingSessions,
    /// `GET /v1/binding-sessions/{id}`
    GetBindingSession(String),
    /// `DELETE /v1/binding-sessions/{id}`: cancel it.
    CancelBindingSession(String),
    /// `POST /v1/binding-sessions/{id}/credentials`: the credential of a `token` session.
    BindingSessionCredentials(String),
    /// `GET /v1/binding-sessions/{id}/events`: live status as Server-Sent Events.
    BindingSessionEvents(String),
    /// `POST /v1/messages`: send a message through an installation.
    SendMessage,
    /// `GET /v1/messages`: the outbound log.
    ListMessages,
    /// `GET /v1/messages/{id}`: a message's status.
    GetMessage(String),
    /// `PATCH /v1/messages/{id}`: replace its text (streaming).
    EditMessage(String),
    /// `DELETE /v1/messages/{id}`: delete it.
    DeleteMessage(String),
    /// `GET /v1/deliveries`: the delivery log.
    ListDeliveries,
    /// `GET /v1/deliveries/{envelope_id}`: one delivery with its attempts.
    GetDelivery(String),
    /// `POST /v1/deliveries/{envelope_id}/replay`: deliver a delivered envelope again.
    ReplayDelivery(String),
    /// `GET /v1/dead-letters`.
    ListDeadLetters,
    /// `POST /v1/dead-letters/{envelope_id}/redrive`.
    RedriveDeadLetter(String),
    /// `POST /v1/dead-letters/redrive`: the dead letters a filter selects.
    RedriveDeadLetters,
    /// `GET /v1/metrics`: Prometheus text exposition.
    Metrics,
}

impl Admin {
    /// True for what a principal may do to itself without the endpoint's scope: rotating its
    /// own key (`principal_id` is the caller's).
    pub fn is_self_service(&self, principal_id: &str) -> bool {
        matches!(self, Admin::RotatePrincipalKey(id) if id == principal_id)
    }

    /// A second scope that also allows this endpoint: orgs are read with `installations:read`
    /// too, so whoever manages installations (or binds them) can find the org they belong to
    /// without a `profiles:*` scope; outbound messages are read with `deliveries:read` too (the
    /// outbound half of the delivery log).
    pub fn alternative_scope(&self) -> Option<Scope> {
        match self {
            Admin::List(Resource::Orgs) | Admin::Get(Resource::Orgs, _) => {
                Some(Scope::InstallationsRead)
            }
            Admin::ListMessages | Admin::GetMessage(_) => Some(Scope::DeliveriesRead),
            _ => None,
        }
    }

    /// The scope a token needs for this endpoint (but see [`Admin::is_self_service`] and
    /// [`Admin::alternative_scope`]).
    pub fn scope(&self) -> Scope {
        match self {
            Admin::Create(resource) | Admin::Revoke(resource, _) => resource.write_scope(),
            Admin::RotatePrincipalKey(_) => Scope::PrincipalsWrite,
            Admin::RotateProfileSecrets(_) => Scope::ProfilesWrite,
            Admin::RotateInstallationCredentials(_) => Scope::InstallationsWrite,
            Admin::List(resource) | Admin::Get(resource, _) => resource.read_scope(),
            Admin::SlackManifest(_) => Resource::AppProfiles.read_scope(),
            Admin::AllowlistList(_) => Scope::BindingsRead,
            Admin::AllowlistAdd(_) | Admin::AllowlistRemove(..) => Scope::BindingsWrite,
            Admin::RolloutList | Admin::RolloutSet(_) => Scope::RolloutWrite,
            Admin::AuditList | Admin::AuditVerify => Scope::AuditRead,
            Admin::MasterKeyRotate => Scope::All,
            Admin::MintInstallToken => Scope::InstallTokensMint,
            Admin::StartBindingSession
            | Admin::CancelBindingSession(_)
            | Admin::BindingSessionCredentials(_) => Scope::BindingsWrite,
            Admin::ListBindingSessions
            | Admin::GetBindingSession(_)
            | Admin::BindingSessionEvents(_) => Scope::BindingsRead,
            Admin::SendMessage
            | Admin::ListMessages
            | Admin::GetMessage(_)
            | Admin::EditMessage(_)
            | Admin::DeleteMessage(_) => Scope::MessagesSend,
            Admin::ListDeliveries | Admin::GetDelivery(_) | Admin::ListDeadLetters => {
                Scope::DeliveriesRead
            }
            Admin::ReplayDelivery(_) | Admin::RedriveDeadLetter(_) | Admin::RedriveDeadLetters => {
                Scope::DeliveriesWrite
            }
            Admin::Metrics => Scope::MetricsRead,
        }
    }
}

/// One method and path template, and how to build the route from the captured segments.
struct Entry {
    method: &'static str,
    template: &'static str,
    build: fn(Vec<String>) -> Route,
}

macro_rules! entry {
    ($method:literal, $template:literal, $build:expr) => {
        Entry {
            method: $method,
            template: $template,
            build: $build,
        }
    };
}

/// The captured segment at `index` (templates guarantee it exists).
fn take(captures: &mut [String], index: usize) -> String {
    captures
        .get_mut(index)
        .map(std::mem::take)
        .unwrap_or_default()
}

macro_rules! resource_entries {
    ($path:literal, $path_id:literal, $revoke:literal, $resource:expr) => {
        [
            entry!("POST", $path, |_| Route::Admin(Admin::Create($resource))),
            entry!("GET", $path, |_| Route::Admin(Admin::List($resource))),
            entry!("GET", $path_id, |mut c| Route::Admin(Admin::Get(
                $resource,
                take(&mut c, 0)
            ))),
            entry!("POST", $revoke, |mut c| Route::Admin(Admin::Revoke(
                $resource,
                take(&mut c, 0)
            ))),
        ]
    };
}

const PRINCIPALS: [Entry; 4] = resource_entries!(
    "/v1/principals",
    "/v1/principals/{id}",
    "/v1/principals/{id}/revoke",
    Resource::Principals
);
const ORGS: [Entry; 4] = resource_entries!(
    "/v1/orgs",
    "/v1/orgs/{id}",
    "/v1/orgs/{id}/revoke",
    Resource::Orgs
);
const APP_PROFILES: [Entry; 4] = resource_entries!(
    "/v1/app-profiles",
    "/v1/app-profiles/{id}",
    "/v1/app-profiles/{id}/revoke",
    Resource::AppProfiles
);
const INSTALLATIONS: [Entry; 4] = resource_entries!(
    "/v1/installations",
    "/v1/installations/{id}",
    "/v1/installations/{id}/revoke",
    Resource::Installations
);
const BINDINGS: [Entry; 4] = resource_entries!(
    "/v1/bindings",
    "/v1/bindings/{id}",
    "/v1/bindings/{id}/revoke",
    Resource::Bindings
);

/// Orgs and bindings have nothing to rotate: a binding is revoked and created anew.
const ROTATIONS: [Entry; 3] = [
    entry!("POST", "/v1/principals/{id}/rotate", |mut c| Route::Admin(
        Admin::RotatePrincipalKey(take(&mut c, 0))
    )),
    entry!(
        "POST",
        "/v1/app-profiles/{id}/rotate",
        |mut c| Route::Admin(Admin::RotateProfileSecrets(take(&mut c, 0)))
    ),
    entry!("POST", "/v1/installations/{id}/rotate", |mut c| {
        Route::Admin(Admin::RotateInstallationCredentials(take(&mut c, 0)))
    }),
];

const OTHERS: [Entry; 12] = [
    entry!("GET", "/healthz", |_| Route::Healthz),
    entry!("GET", "/v1/openapi.json", |_| Route::OpenApi),
    entry!("GET", "/v1/app-profiles/{id}/slack-manifest", |mut c| {
        Route::Admin(Admin::SlackManifest(take(&mut c, 0)))
    }),
    entry!("GET", "/v1/bindings/{id}/allowlist", |mut c| Route::Admin(
        Admin::AllowlistList(take(&mut c, 0))
    )),
    entry!("POST", "/v1/bindings/{id}/allowlist", |mut c| Route::Admin(
        Admin::AllowlistAdd(take(&mut c, 0))
    )),
    entry!(
        "DELETE",
        "/v1/bindings/{id}/allowlist/{sender_id}",
        |mut c| Route::Admin(Admin::AllowlistRemove(take(&mut c, 0), take(&mut c, 1)))
    ),
    entry!("GET", "/v1/rollout", |_| Route::Admin(Admin::RolloutList)),
    entry!("PUT", "/v1/rollout/{key}", |mut c| Route::Admin(
        Admin::RolloutSet(take(&mut c, 0))
    )),
    entry!("GET", "/v1/audit", |_| Route::Admin(Admin::AuditList)),
    entry!("GET", "/v1/audit/verify", |_| Route::Admin(
        Admin::AuditVerify
    )),
    entry!("POST", "/v1/master-key/rotate", |_| Route::Admin(
        Admin::MasterKeyRotate
    )),
    entry!("POST", "/v1/install-tokens", |_| Route::Admin(
        Admin::MintInstallToken
    )),
];

const BROWSER: [Entry; 3] = [
    entry!("GET", "/oauth/slack/callback", |_| {
        Route::SlackOauthCallback
    }),
    entry!("GET", "/bind/{id}", |mut c| Route::BindPage {
        id: take(&mut c, 0)
    }),
    entry!("GET", "/bind/{id}/events", |mut c| Route::BindEvents {
        id: take(&mut c, 0)
    }),
];

const BINDING_SESSIONS: [Entry; 6] = [
    entry!("POST", "/v1/binding-sessions", |_| Route::Admin(
        Admin::StartBindingSession
    )),
    entry!("GET", "/v1/binding-sessions", |_| Route::Admin(
        Admin::ListBindingSessions
    )),
    entry!("GET", "/v1/binding-sessions/{id}", |mut c| Route::Admin(
        Admin::GetBindingSession(take(&mut c, 0))
    )),
    entry!("DELETE", "/v1/binding-sessions/{id}", |mut c| {
        Route::Admin(Admin::CancelBindingSession(take(&mut c, 0)))
    }),
    entry!("POST", "/v1/binding-sessions/{id}/credentials", |mut c| {
        Route::Admin(Admin::BindingSessionCredentials(take(&mut c, 0)))
    }),
    entry!("GET", "/v1/binding-sessions/{id}/events", |mut c| {
        Route::Admin(Admin::BindingSessionEvents(take(&mut c, 0)))
    }),
];

const MESSAGES: [Entry; 5] = [
    entry!("POST", "/v1/messages", |_| Route::Admin(Admin::SendMessage)),
    entry!("GET", "/v1/messages", |_| Route::Admin(Admin::ListMessages)),
    entry!("GET", "/v1/messages/{id}", |mut c| Route::Admin(
        Admin::GetMessage(take(&mut c, 0))
    )),
    entry!("PATCH", "/v1/messages/{id}", |mut c| Route::Admin(
        Admin::EditMessage(take(&mut c, 0))
    )),
    entry!("DELETE", "/v1/messages/{id}", |mut c| Route::Admin(
        Admin::DeleteMessage(take(&mut c, 0))
    )),
];

const DELIVERIES: [Entry; 7] = [
    entry!("GET", "/v1/deliveries", |_| Route::Admin(
        Admin::ListDeliveries
    )),
    entry!("GET", "/v1/deliveries/{id}", |mut c| Route::Admin(
        Admin::GetDelivery(take(&mut c, 0))
    )),
    entry!("POST", "/v1/deliveries/{id}/replay", |mut c| Route::Admin(
        Admin::ReplayDelivery(take(&mut c, 0))
    )),
    entry!("GET", "/v1/dead-letters", |_| Route::Admin(
        Admin::ListDeadLetters
    )),
    entry!("POST", "/v1/dead-letters/redrive", |_| Route::Admin(
        Admin::RedriveDeadLetters
    )),
    entry!("POST", "/v1/dead-letters/{id}/redrive", |mut c| {
        Route::Admin(Admin::RedriveDeadLetter(take(&mut c, 0)))
    }),
    entry!("GET", "/v1/metrics", |_| Route::Admin(Admin::Metrics)),
];

/// Every route but the webhooks (which come from the provider registry), in match order.
const TABLE: [&[Entry]; 11] = [
    &OTHERS,
    &MESSAGES,
    &DELIVERIES,
    &BROWSER,
    &BINDING_SESSIONS,
    &ROTATIONS,
    &PRINCIPALS,
    &ORGS,
    &APP_PROFILES,
    &INSTALLATIONS,
    &BINDINGS,
];

impl Route {
    /// The kind of request, for log lines (never an id or a query).
    pub fn label(&self) -> &'static str {
        match self {
            Route::Healthz => "healthz",
            Route::OpenApi => "openapi",
            Route::Admin(_) => "admin",
            Route::Webhook { .. } => "webhook",
            Route::WebhookHandshake { .. } => "webhook_handshake",
            Route::BindPage { .. } => "bind_page",
            Route::BindEvents { .. } => "bind_events",
            Route::SlackOauthCallback => "oauth_callback",
            Route::MethodNotAllowed { .. } => "method_not_allowed",
            Route::NotFound => "not_found",
        }
    }

    /// Resolves `method` (upper case, as HTTP sends it) and `path` (without the query string).
    ///
    /// Paths are exact: `/healthz/` is not `/healthz`, because providers and operators are given
    /// exact URLs and a lenient match would hide a misconfiguration.
    pub fn resolve(method: &str, path: &str) -> Route {
        let method = if method == "HEAD" { "GET" } else { method };
        if let Some(route) = webhook(method, path) {
            return route;
        }
        let mut allowed: Vec<&str> = Vec::new();
        for entry in TABLE.iter().flat_map(|entries| entries.iter()) {
            let Some(captures) = match_template(entry.template, path) else {
                continue;
            };
            if entry.method == method {
                return (entry.build)(captures);
            }
            allowed.push(entry.method);
        }
        not_allowed(allowed)
    }
}

/// `NotFound` when no method has this path, else `MethodNotAllowed` listing the methods.
fn not_allowed(mut allowed: Vec<&str>) -> Route {
    if allowed.is_empty() {
        return Route::NotFound;
    }
    if allowed.contains(&"GET") {
        allowed.push("HEAD");
    }
    allowed.sort_unstable();
    allowed.dedup();
    Route::MethodNotAllowed {
        allow: allowed.join(", "),
    }
}

/// The template of every webhook path.
const WEBHOOK: &str = "/webhooks/{provider}/{id}";

/// The route of a webhook path (`/webhooks/<provider>/<id>` for a registered provider that
/// receives webhooks: not email), or `None` for any other path.
fn webhook(method: &str, path: &str) -> Option<Route> {
    let mut captures = match_template(WEBHOOK, path)?.into_iter();
    let provider = Provider::parse(&captures.next()?)
        .ok()
        .filter(|provider| provider.receives_webhooks())?;
    let id = captures.next()?;
    let handshake = provider.spec().get_handshake.is_some();
    Some(match method {
        "POST" => Route::Webhook { provider, id },
        "GET" if handshake => Route::WebhookHandshake { provider, id },
        _ if handshake => not_allowed(vec!["GET", "POST"]),
        _ => not_allowed(vec!["POST"]),
    })
}

/// Every `(method, path)` the worker serves, for documentation checks (the OpenAPI document
/// must describe each one): the table's templates, and each provider's webhook path.
pub fn endpoints() -> impl Iterator<Item = (&'static str, String)> {
    let webhooks = Provider::ALL
        .into_iter()
        .filter(|p| p.receives_webhooks())
        .flat_map(|provider| {
            let path = format!("/webhooks/{}/{{id}}", provider.as_str());
            let get = provider.spec().get_handshake.map(|_| ("GET", path.clone()));
            std::iter::once(("POST", path)).chain(get)
        });
    TABLE
        .iter()
        .flat_map(|entries| entries.iter())
        .map(|entry| (entry.method, entry.template.to_owned()))
        .chain(webhooks)
}

/// The decoded query pairs of a request URL (the part after `?`, up to any `#`), in order.
/// Parsing only the query keeps URL parsing (and its Unicode tables) out of the Wasm.
pub fn query_pairs(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Matches `path` against `template`, returning the `{…}` captures, or `None` when it does not
/// match.
fn match_template(template: &str, path: &str) -> Option<Vec<String>> {
    let mut template_segments = template.split('/');
    let mut path_segments = path.split('/');
    let mut captures = Vec::new();
    loop {
        match (template_segments.next(), path_segments.next()) {
            (None, None) => return Some(captures),
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with('}') => {
                if p.is_empty() {
                    return None;
                }
                captures.push(percent_decode(p)?);
            }
            (Some(t), Some(p)) if t == p => {}
            _ => return None,
        }
    }
}

/// Decodes `%XX` escapes in a path segment; `None` for a bad escape or a result that is not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let mut bytes = segment.bytes();
    let mut decoded = Vec::with_capacity(segment.len());
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            decoded.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            decoded.push(byte);
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
#[path = "route_test.rs"]
mod tests;
