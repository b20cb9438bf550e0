//! The static assets (`[assets]` in wrangler.toml: `build/assets`, which `scripts/build.sh`
//! stages from `schema/openapi.json` and `assets/`). They are served to the worker only
//! (`run_worker_first`), so nothing is public unless a handler returns it, and they are not
//! compiled into the Wasm.

use super::store::d1;
use crate::core::api_error::ApiError;
use worker::{Env, Response};

/// The asset `name` (e.g. `openapi.json`) as the assets binding answers it.
pub async fn fetch(env: &Env, name: &str) -> Result<Response, ApiError> {
    env.assets("ASSETS")
        .map_err(d1::internal)?
        .fetch(format!("https://assets.local/{name}"), None)
        .await
        .map_err(d1::internal)
}

/// The asset `name` as text; a missing one is a logged 500.
pub async fn text(env: &Env, name: &str) -> Result<String, ApiError> {
    let mut response = fetch(env, name).await?;
    if response.status_code() != 200 {
        return Err(d1::internal(format!(
            "asset {name} answered {}",
            response.status_code()
        )));
    }
    response.text().await.map_err(d1::internal)
}

/// The binding page's template and style ([`crate::core::binding_page::Templates`]).
pub struct PageAssets {
    page: String,
    style: String,
}

impl PageAssets {
    /// Reads both.
    pub async fn read(env: &Env) -> Result<PageAssets, ApiError> {
        Ok(PageAssets {
            page: text(env, "binding_page.html").await?,
            style: text(env, "binding_page.css").await?,
        })
    }

    /// The style alone (the notices' pages), or none when it cannot be read (logged): a notice
    /// is still shown, unstyled.
    pub async fn style(env: &Env) -> String {
        text(env, "binding_page.css").await.unwrap_or_else(|error| {
            worker::console_error!("binding page style: {error}");
            String::new()
        })
    }

    /// Both, as the core takes them.
    pub fn templates(&self) -> crate::core::binding_page::Templates<'_> {
        crate::core::binding_page::Templates {
            page: &self.page,
            style: &self.style,
        }
    }
}
