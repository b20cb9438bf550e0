//! Errors the worker answers with, and their JSON body.
//!
//! Every error response has the same shape, `{"error": {"code": "...", "message": "..."}}`, so
//! clients can branch on `code` and show `message`. Messages name what went wrong and what to do;
//! they never contain a secret, a signature or internal detail (those go to the log only).

use crate::core::auth::AuthError;
use crate::core::authority::AuthorityError;
use crate::core::tenancy::TenancyError;
use serde_json::{json, Value};

/// An error that ends a request, with the HTTP status it maps to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No route has this path.
    #[error("no route for {method} {path}")]
    NotFound {
        /// The request method, echoed so the caller sees what was tried.
        method: String,
        /// The request path (without the query string).
        path: String,
    },
    /// The path exists but not for this method.
    #[error("{method} is not allowed on {path}; allowed: {allow}")]
    MethodNotAllowed {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
        /// The methods the path accepts, as in the `Allow` header.
        allow: String,
    },
    /// Authentication failed (401) or the token lacks a scope (403).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The caller holds the endpoint's scope but may not do this to this target (403).
    #[error(transparent)]
    Authority(#[from] AuthorityError),
    /// The request body is larger than the endpoint takes (413).
    #[error("the request body is larger than {limit_bytes} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit_bytes: usize,
    },
    /// Too many failed authentications from this client.
    #[error("too many failed authentication attempts; retry after {retry_after_seconds} s")]
    RateLimited {
        /// Seconds until the client may try again (also in `Retry-After`).
        retry_after_seconds: u32,
    },
    /// The request body or query is not what the endpoint takes.
    #[error("bad request: {message}")]
    BadRequest {
        /// What is wrong, naming the field.
        message: String,
    },
    /// A tenancy rule refuses the request.
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
    /// The named object does not exist.
    #[error("{what} {id} not found")]
    NoSuch {
        /// What kind of object.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The request conflicts with the current state (already revoked, already exists, illegal
    /// transition).
    #[error("conflict: {message}")]
    Conflict {
        /// What conflicts.
        message: String,
    },
    /// Too much is waiting already (429): retry after `retry_after_seconds`.
    #[error("{message}")]
    TooManyRequests {
        /// What is full, and what to do.
        message: String,
        /// Seconds to wait (also in `Retry-After`).
        retry_after_seconds: u32,
    },
    /// The request is well-formed but cannot be done as asked (422), with its own code
    /// (`unsupported`, `not_routed`, …).
    #[error("{message}")]
    Unprocessable {
        /// The code.
        code: &'static str,
        /// What cannot be done, in words.
        message: String,
    },
    /// A webhook request refused: `code` is the reason, also audited (`bad_signature`,
    /// `unknown_or_revoked`, …).
    #[error("{message}")]
    WebhookRejected {
        /// The HTTP status (400, 401, 403, 404).
        status: u16,
        /// The reason.
        code: &'static str,
        /// The reason in words; never a secret or an expected signature.
        message: String,
    },
    /// The request cannot be taken now (a provider switched off, an org outside a canary, the
    /// queue refusing): the sender retries after `Retry-After` and nothing is lost.
    #[error("temporarily unavailable; retry after {retry_after_seconds} s")]
    Unavailable {
        /// Seconds to wait (also in `Retry-After`).
        retry_after_seconds: u32,
    },
    /// Something on our side failed; the details are in the worker's log, not in the response.
    #[error("internal error; the worker log has the details")]
    Internal,
}

impl ApiError {
    /// The HTTP status code for this error.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Auth(error) => error.status(),
            ApiError::Authority(_) => 403,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::RateLimited { .. } => 429,
            ApiError::BadRequest { .. } => 400,
            ApiError::Tenancy(
                TenancyError::NoCredential { .. }
                | TenancyError::Revoked { .. }
                | TenancyError::OwnerRevoked,
            ) => 409,
            ApiError::Tenancy(_) => 422,
            ApiError::NoSuch { .. } => 404,
            ApiError::Conflict { .. } => 409,
            ApiError::WebhookRejected { status, .. } => *status,
            ApiError::Unprocessable { .. } => 422,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Unavailable { .. } => 503,
            ApiError::Internal => 500,
        }
    }

    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Auth(AuthError::MissingScope { .. }) => "forbidden",
            ApiError::Auth(_) => "unauthorized",
            ApiError::Authority(_) => "forbidden",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::Tenancy(
                TenancyError::NoCredential { .. }
                | TenancyError::Revoked { .. }
                | TenancyError::OwnerRevoked,
            ) => "conflict",
            ApiError::Tenancy(_) => "invalid",
            ApiError::NoSuch { .. } => "not_found",
            ApiError::Conflict { .. } => "conflict",
            ApiError::WebhookRejected { code, .. } => code,
            ApiError::Unprocessable { code, .. } => code,
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Internal => "internal",
        }
    }

    /// The JSON response body. A 403 also names the missing scope in `missing_scope`.
    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code(), "message": self.to_string() });
        if let ApiError::Auth(AuthError::MissingScope { scope }) = self {
            crate::core::json::set(&mut error, "missing_scope", scope.as_str());
        }
        json!({ "error": error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_is_404_and_names_the_request() {
        let error = ApiError::NotFound {
            method: "GET".into(),
            path: "/nope".into(),
        };
        assert_eq!(error.status(), 404);
        assert_eq!(
            error.body(),
            json!({"error": {"code": "not_found", "message": "no route for GET /nope"}})
        );
    }

    #[test]
    fn method_not_allowed_is_405_and_lists_the_allowed_methods() {
        let error = ApiError::MethodNotAllowed {
            method: "POST".into(),
            path: "/healthz".into(),
            allow: "GET, HEAD".into(),
        };
        assert_eq!(error.status(), 405);
        assert_eq!(error.body()["error"]["code"], "method_not_allowed");
        assert_eq!(
            error.body()["error"]["message"],
            "POST is not allowed on /healthz; allowed: GET, HEAD"
        );
    }

    #[test]
    fn a_missing_scope_is_403_and_names_the_scope() {
        let error = ApiError::from(AuthError::MissingScope {
            scope: crate::core::auth::Scope::AuditRead,
        });
        assert_eq!(error.status(), 403);
        assert_eq!(
            error.body(),
            json!({"error": {"code": "forbidden", "message": "token lacks the scope audit:read", "missing_scope": "audit:read"}})
        );
    }

    #[test]
    fn other_auth_failures_are_401() {
        let error = ApiError::from(AuthError::MissingToken);
        assert_eq!(error.status(), 401);
        assert_eq!(error.code(), "unauthorized");
        assert!(error.body()["error"].get("missing_scope").is_none());
    }

    #[test]
    fn authority_refusals_are_403_without_a_missing_scope() {
        let error = ApiError::from(AuthorityError::UnrestrictedOnly {
            action: "changing rollout flags",
        });
        assert_eq!((error.status(), error.code()), (403, "forbidden"));
        assert!(error.body()["error"].get("missing_scope").is_none());
    }

    #[test]
    fn an_oversized_body_is_413() {
        let error = ApiError::PayloadTooLarge { limit_bytes: 65536 };
        assert_eq!((error.status(), error.code()), (413, "payload_too_large"));
        assert_eq!(
            error.to_string(),
            "the request body is larger than 65536 bytes"
        );
    }

    #[test]
    fn rate_limited_is_429() {
        let error = ApiError::RateLimited {
            retry_after_seconds: 60,
        };
        assert_eq!((error.status(), error.code()), (429, "rate_limited"));
        assert_eq!(
            error.to_string(),
            "too many failed authentication attempts; retry after 60 s"
        );
    }

    #[test]
    fn bad_request_is_400() {
        let error = ApiError::BadRequest {
            message: "missing field `name`".into(),
        };
        assert_eq!((error.status(), error.code()), (400, "bad_request"));
    }

    #[test]
    fn tenancy_rules_are_422_and_state_conflicts_409() {
        assert_eq!(ApiError::from(TenancyError::ByoaNeedsOrg).status(), 422);
        let revoked = TenancyError::Revoked {
            what: "org",
            id: "org_1".into(),
        };
        assert_eq!(ApiError::from(revoked).status(), 409);
        assert_eq!(ApiError::from(TenancyError::OwnerRevoked).status(), 409);
        let no_credential = TenancyError::NoCredential {
            installation_id: "ins_1".into(),
            name: "bot_token".into(),
        };
        assert_eq!(ApiError::from(no_credential).status(), 409);
    }

    #[test]
    fn no_such_is_404_and_conflict_is_409() {
        let missing = ApiError::NoSuch {
            what: "org",
            id: "org_x".into(),
        };
        assert_eq!(
            (missing.status(), missing.to_string()),
            (404, "org org_x not found".into())
        );
        let conflict = ApiError::Conflict {
            message: "already revoked".into(),
        };
        assert_eq!((conflict.status(), conflict.code()), (409, "conflict"));
    }

    #[test]
    fn a_webhook_rejection_keeps_its_status_and_reason() {
        let error = ApiError::WebhookRejected {
            status: 401,
            code: "bad_signature",
            message: "signature does not verify".into(),
        };
        assert_eq!(error.status(), 401);
        assert_eq!(
            error.body(),
            json!({"error": {"code": "bad_signature", "message": "signature does not verify"}})
        );
    }

    #[test]
    fn too_many_requests_is_429_with_its_message() {
        let error = ApiError::TooManyRequests {
            message: "the conversation is full".into(),
            retry_after_seconds: 5,
        };
        assert_eq!((error.status(), error.code()), (429, "rate_limited"));
        assert_eq!(error.to_string(), "the conversation is full");
    }

    #[test]
    fn unprocessable_is_422_with_its_own_code() {
        let error = ApiError::Unprocessable {
            code: "not_routed",
            message: "binding bnd_1 does not route conversation C9".into(),
        };
        assert_eq!(error.status(), 422);
        assert_eq!(error.body()["error"]["code"], "not_routed");
    }

    #[test]
    fn unavailable_is_503_and_says_when_to_retry() {
        let error = ApiError::Unavailable {
            retry_after_seconds: 60,
        };
        assert_eq!(error.status(), 503);
        assert_eq!(error.code(), "unavailable");
        assert!(error.to_string().contains("60 s"));
    }

    #[test]
    fn internal_is_500_and_reveals_nothing() {
        assert_eq!(ApiError::Internal.status(), 500);
        assert_eq!(
            ApiError::Internal.body(),
            json!({"error": {"code": "internal", "message": "internal error; the worker log has the details"}})
        );
    }
}
