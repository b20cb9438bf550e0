//! Errors the worker answers with, and their JSON body.
//!
//! Every error response has the same shape, `{"error": {"code": "...", "message": "..."}}`, so
//! clients can branch on `code` and show `message`. Messages name what went wrong and what to do;
//! they never contain a secret, a signature or internal detail (those go to the log only).

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
        allow: &'static str,
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
            ApiError::Internal => 500,
        }
    }

    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Internal => "internal",
        }
    }

    /// The JSON response body.
    pub fn body(&self) -> Value {
        json!({ "error": { "code": self.code(), "message": self.to_string() } })
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
            allow: "GET, HEAD",
        };
        assert_eq!(error.status(), 405);
        assert_eq!(error.body()["error"]["code"], "method_not_allowed");
        assert_eq!(
            error.body()["error"]["message"],
            "POST is not allowed on /healthz; allowed: GET, HEAD"
        );
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
