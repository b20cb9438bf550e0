//! Response helpers shared by the handlers.

use crate::core::api_error::ApiError;
use futures_util::future::{select, Either};
use serde::Serialize;
use std::time::Duration;
use worker::{
    AbortController, Delay, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
    Response, Result,
};

/// The URL in `[vars]` `name` (`PUBLIC_BASE_URL`, a provider's API base) without a trailing
/// `/`, so paths are appended with `format!("{base}/path")`; empty when it is not set.
pub fn base_url(env: &Env, name: &str) -> String {
    env.var(name)
        .map(|value| value.to_string().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// The request's decoded query pairs ([`crate::core::route::query_pairs`]).
pub fn query(req: &Request) -> Vec<(String, String)> {
    crate::core::route::query_pairs(&req.inner().url())
}

/// The request's body, or `None` when it is larger than `limit` bytes: a declared
/// `Content-Length` over the limit is refused before reading, and the stream is read chunk by
/// chunk and given up as soon as it passes the limit, so no more than `limit` bytes are
/// buffered.
pub async fn read_limited(req: &mut Request, limit: usize) -> Result<Option<Vec<u8>>> {
    use futures_util::StreamExt;
    let declared = req
        .headers()
        .get("Content-Length")?
        .and_then(|length| length.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Ok(None);
    }
    if req.inner().body().is_none() {
        return Ok(Some(Vec::new()));
    }
    let mut stream = req.stream()?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > limit {
            return Ok(None);
        }
    }
    Ok(Some(body))
}

/// A static HTML page (no script, no external resource) with `status`, under a policy that lets
/// it load nothing, with `nosniff`, never cached and sending no `Referer`.
pub fn static_page(status: u16, html: &str) -> Result<Response> {
    let mut response = Response::from_html(html)?.with_status(status);
    let headers = response.headers_mut();
    headers.set(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'",
    )?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    keep_private(&mut response)?;
    Ok(response)
}

/// An admin reply: JSON, or text for a body that is a JSON string
/// ([`crate::edge::admin::Reply`]; the only text is the Prometheus exposition).
pub fn reply(status: u16, body: serde_json::Value) -> Result<Response> {
    let serde_json::Value::String(text) = body else {
        return json(status, &body);
    };
    let mut response = Response::ok(text)?.with_status(status);
    response
        .headers_mut()
        .set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")?;
    Ok(response)
}

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

/// Marks a response that may carry a capability or tenant data (every admin API answer) as
/// never to be stored by a cache nor leaked through a `Referer`.
pub fn keep_private(response: &mut Response) -> Result<()> {
    let headers = response.headers_mut();
    headers.set("Cache-Control", "no-store")?;
    headers.set("Referrer-Policy", "no-referrer")
}

/// The JSON response for an [`ApiError`], with the headers its status calls for.
pub fn error_response(error: &ApiError) -> Result<Response> {
    let mut response = json(error.status(), &error.body())?;
    match error {
        ApiError::MethodNotAllowed { allow, .. } => response.headers_mut().set("Allow", allow)?,
        ApiError::RateLimited {
            retry_after_seconds,
        }
        | ApiError::Unavailable {
            retry_after_seconds,
        }
        | ApiError::TooManyRequests {
            retry_after_seconds,
            ..
        } => response
            .headers_mut()
            .set("Retry-After", &retry_after_seconds.to_string())?,
        _ => {}
    }
    Ok(response)
}

/// Why an outbound request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// It could not be made or the connection failed: it did not reach the other side, or broke.
    Unreachable(String),
    /// No answer in time: the request may have landed.
    TimedOut(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Unreachable(reason) | SendError::TimedOut(reason) => f.write_str(reason),
        }
    }
}

/// Sends an outbound request (to a provider or the agent runtime) and waits at most `timeout`;
/// `Err` says in plain words why there is no response. The URL is never part of the message
/// (a Telegram bot token is in its path).
pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
    timeout: Duration,
    follow_redirects: bool,
) -> std::result::Result<Response, SendError> {
    let request_headers = Headers::new();
    for (name, value) in headers {
        request_headers
            .set(name, value)
            .map_err(|e| SendError::Unreachable(format!("bad header {name}: {e}")))?;
    }
    let mut init = RequestInit::new();
    init.with_method(method)
        .with_headers(request_headers)
        .with_body(body.map(Into::into));
    if !follow_redirects {
        init.with_redirect(RequestRedirect::Manual);
    }
    let request = Request::new_with_init(url, &init)
        .map_err(|_| SendError::Unreachable("bad URL".to_owned()))?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let fetch = std::pin::pin!(fetch.send_with_signal(&signal));
    let deadline = std::pin::pin!(Delay::from(timeout));
    match select(fetch, deadline).await {
        Either::Left((Ok(response), _)) => Ok(response),
        Either::Left((Err(_), _)) => {
            Err(SendError::Unreachable("the connection failed".to_owned()))
        }
        Either::Right(_) => {
            controller.abort();
            Err(SendError::TimedOut(format!(
                "no answer within {} s",
                timeout.as_secs()
            )))
        }
    }
}
