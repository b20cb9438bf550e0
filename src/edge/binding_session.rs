//! The `BindingSession` Durable Object: one instance per binding session.
//!
//! Today it answers the health ping that proves the namespace is bound and reachable; the
//! binding-session flows (state machine, alarms, live status) are added on this class.

use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// Path the worker's `/healthz` fetches on one fixed instance.
pub const PING_PATH: &str = "/ping";

#[durable_object]
pub struct BindingSession {
    _state: State,
}

impl DurableObject for BindingSession {
    fn new(state: State, _env: Env) -> Self {
        Self { _state: state }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match req.path().as_str() {
            PING_PATH => Response::ok("pong"),
            _ => Response::error("not found", 404),
        }
    }
}
