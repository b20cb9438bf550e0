//! The `Limiter` Durable Object: one per installation, holding the sliding window of
//! [`crate::core::outbound::limiter`] in memory. Each conversation of the installation asks it
//! before a provider call ([`acquire`]); the answer is "go" or the time to try again.

use crate::core::api_error::ApiError;
use crate::core::outbound::limiter::Window;
use crate::core::outbound::Rate;
use crate::edge::runtime;
use crate::edge::store::d1;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

#[derive(Serialize, Deserialize)]
struct Ask {
    calls: u32,
    per_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct Grant {
    /// `None`: go now; else no call before this time, ms.
    wait_until: Option<u64>,
}

/// Asks installation `installation_id`'s limiter for a call under `rate`: `None` to go now,
/// else the time (ms) to try again.
pub async fn acquire(
    env: &Env,
    installation_id: &str,
    rate: Rate,
) -> std::result::Result<Option<u64>, ApiError> {
    let stub = env
        .durable_object("LIMITERS")
        .and_then(|namespace| namespace.get_by_name(installation_id))
        .map_err(d1::internal)?;
    let ask = Ask {
        calls: rate.calls,
        per_ms: rate.per_ms,
    };
    let body = serde_json::to_string(&ask).map_err(d1::internal)?;
    let mut init = worker::RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let request = Request::new_with_init("https://limiter/acquire", &init).map_err(d1::internal)?;
    let mut response = stub
        .fetch_with_request(request)
        .await
        .map_err(d1::internal)?;
    let grant: Grant = response.json().await.map_err(d1::internal)?;
    Ok(grant.wait_until)
}

#[durable_object]
pub struct Limiter {
    window: RefCell<Window>,
}

impl DurableObject for Limiter {
    fn new(_state: State, _env: Env) -> Self {
        Self {
            window: RefCell::new(Window::default()),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let ask: Ask = req.json().await?;
        let rate = Rate {
            calls: ask.calls,
            per_ms: ask.per_ms,
        };
        let granted = self
            .window
            .borrow_mut()
            .acquire(runtime::now_millis(), rate);
        Response::from_json(&Grant {
            wait_until: granted.err(),
        })
    }
}
