//! Response helpers shared by the handlers.

use crate::core::api_error::ApiError;
use serde::Serialize;
use worker::{Response, Result};

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

/// A 200 response whose body is already JSON text.
pub fn raw_json(text: &str) -> Result<Response> {
    let mut response = Response::ok(text)?;
    response
        .headers_mut()
        .set("Content-Type", "application/json")?;
    Ok(response)
}

/// The JSON response for an [`ApiError`], with the headers its status calls for.
pub fn error_response(error: &ApiError) -> Result<Response> {
    let mut response = json(error.status(), &error.body())?;
    match error {
        ApiError::MethodNotAllowed { allow, .. } => response.headers_mut().set("Allow", allow)?,
        ApiError::RateLimited {
            retry_after_seconds,
        } => response
            .headers_mut()
            .set("Retry-After", &retry_after_seconds.to_string())?,
        _ => {}
    }
    Ok(response)
}
