//! `GET /bind/{id}?t=…` and `GET /bind/{id}/events?t=…`: the binding page and its live status,
//! for whoever holds the signed link the API returned as `page_url` (no admin token in the
//! browser). A link that is malformed, forged, for another session or expired gets a 403 page
//! saying so.

use crate::core::api_error::ApiError;
use crate::core::binding_page::{content_security_policy, notice, render};
use crate::core::signed_link::{self, Purpose};
use crate::edge::assets::PageAssets;
use crate::edge::runtime;
use crate::edge::store::secrets::key_ring;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use worker::{Env, Request, Response, Result};

/// The page.
pub async fn page(req: &Request, env: &Env, id: &str) -> Result<Response> {
    let Some(capability) = authorised(req, env, id)? else {
        return refused(env).await;
    };
    let nonce = runtime::random_bytes::<16>()
        .map_err(|error| worker::Error::RustError(error.to_string()))?;
    let nonce = URL_SAFE_NO_PAD.encode(nonce);
    let events = format!("/bind/{id}/events?t={capability}");
    let assets = PageAssets::read(env).await.map_err(to_worker)?;
    let page = render(
        assets.templates(),
        id,
        &events,
        &nonce,
        runtime::now_seconds(),
    );
    let mut response = Response::from_html(page)?;
    let headers = response.headers_mut();
    headers.set("Content-Security-Policy", &content_security_policy(&nonce))?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("Referrer-Policy", "no-referrer")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    Ok(response)
}

/// The page's event stream.
pub async fn events(req: &Request, env: &Env, id: &str) -> Result<Response> {
    if authorised(req, env, id)?.is_none() {
        return refused(env).await;
    }
    super::events(env, id, true).await
}

/// The link's capability when it is valid for session `id` now.
fn authorised(req: &Request, env: &Env, id: &str) -> Result<Option<String>> {
    let Some(capability) = crate::edge::http::query(req)
        .into_iter()
        .find(|(name, _)| name == "t")
        .map(|(_, value)| value)
    else {
        return Ok(None);
    };
    let ring = key_ring(env).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let now = runtime::now_seconds();
    Ok(
        signed_link::verify(&ring, Purpose::BindingPage, id, &capability, now)
            .ok()
            .map(|_| capability),
    )
}

async fn refused(env: &Env) -> Result<Response> {
    let message =
        "This binding link is not valid or has expired. Ask whoever sent it for a new one.";
    let style = PageAssets::style(env).await;
    crate::edge::http::static_page(403, &notice(&style, "Link not valid", message, true))
}

fn to_worker(error: ApiError) -> worker::Error {
    worker::Error::RustError(error.to_string())
}
