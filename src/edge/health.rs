//! `GET /healthz`: probes each binding for real and reports.
//!
//! The report is kept [`CACHE_MILLIS`] per isolate, so however many callers ask, an isolate
//! probes D1, the queue and the Durable Object namespace at most once in that time. Only a
//! caller with a valid admin token (any scope) sees the version and each binding's check; anyone
//! else gets the overall status.

use super::{admin, binding_session::PING_PATH, http, runtime};
use crate::core::{
    api_error::ApiError,
    health::{Check, Checks, HealthReport},
    queue_message::HealthProbe,
};
use std::cell::RefCell;
use std::rc::Rc;
use worker::{Env, Request, Response};

/// Name of the one Durable Object instance that answers health pings.
const HEALTH_OBJECT_NAME: &str = "healthz";
/// How long an isolate reuses a report.
pub const CACHE_MILLIS: u64 = 5_000;

thread_local! {
    static LAST: RefCell<Option<(u64, Rc<HealthReport>)>> = const { RefCell::new(None) };
}

/// The report (fresh at most [`CACHE_MILLIS`] ago): whole for an admin, summarised otherwise.
pub async fn handle(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let report = report(env).await;
    if admin::is_authenticated(req, env).await {
        http::json(report.http_status(), report.as_ref())
    } else {
        http::json(report.http_status(), &report.summary())
    }
    .map_err(|error| internal(&error))
}

async fn report(env: &Env) -> Rc<HealthReport> {
    let now = runtime::now_millis();
    let cached = LAST.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|(at, _)| now.saturating_sub(*at) < CACHE_MILLIS)
            .map(|(_, report)| report.clone())
    });
    if let Some(report) = cached {
        return report;
    }
    let (d1, queue, durable_objects) =
        futures_util::join!(probe_d1(env), probe_queue(env), probe_durable_objects(env));
    let report = Rc::new(HealthReport::new(
        env!("CARGO_PKG_VERSION"),
        Checks {
            d1,
            queue,
            durable_objects,
        },
    ));
    LAST.with(|last| *last.borrow_mut() = Some((now, report.clone())));
    report
}

async fn probe_d1(env: &Env) -> Check {
    let db = match env.d1("DB") {
        Ok(db) => db,
        Err(error) => return Check::unbound(error.to_string()),
    };
    match super::store::d1::ping(&db).await {
        Ok(()) => Check::ok(),
        Err(error) => Check::unreachable(error),
    }
}

async fn probe_queue(env: &Env) -> Check {
    let queue = match env.queue("INBOUND") {
        Ok(queue) => queue,
        Err(error) => return Check::unbound(error.to_string()),
    };
    let probe = HealthProbe {
        health_probe: runtime::now_millis(),
    };
    match queue.send(probe).await {
        Ok(()) => Check::ok(),
        Err(error) => Check::unreachable(error.to_string()),
    }
}

async fn probe_durable_objects(env: &Env) -> Check {
    let stub = match env
        .durable_object("BINDING_SESSIONS")
        .and_then(|namespace| namespace.get_by_name(HEALTH_OBJECT_NAME))
    {
        Ok(stub) => stub,
        Err(error) => return Check::unbound(error.to_string()),
    };
    match stub.fetch_with_str(&format!("https://do{PING_PATH}")).await {
        Ok(response) if response.status_code() == 200 => Check::ok(),
        Ok(response) => Check::unreachable(format!("ping answered {}", response.status_code())),
        Err(error) => Check::unreachable(error.to_string()),
    }
}

fn internal(error: &worker::Error) -> ApiError {
    worker::console_error!("healthz: {error}");
    ApiError::Internal
}
