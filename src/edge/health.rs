//! `GET /healthz`: probes each binding for real and reports.

use super::{binding_session::PING_PATH, http};
use crate::core::{
    api_error::ApiError,
    health::{Check, Checks, HealthReport},
    queue_message::HealthProbe,
};
use worker::{Date, Env, Response};

/// Name of the one Durable Object instance that answers health pings.
const HEALTH_OBJECT_NAME: &str = "healthz";

/// Probes D1, the queue producer and the Durable Object namespace concurrently.
pub async fn handle(env: &Env) -> Result<Response, ApiError> {
    let (d1, queue, durable_objects) =
        futures_util::join!(probe_d1(env), probe_queue(env), probe_durable_objects(env));
    let report = HealthReport::new(
        env!("CARGO_PKG_VERSION"),
        Checks {
            d1,
            queue,
            durable_objects,
        },
    );
    http::json(report.http_status(), &report).map_err(|error| internal(&error))
}

async fn probe_d1(env: &Env) -> Check {
    let db = match env.d1("DB") {
        Ok(db) => db,
        Err(error) => return Check::unbound(error.to_string()),
    };
    match db
        .prepare("SELECT 1")
        .first::<serde_json::Value>(None)
        .await
    {
        Ok(_) => Check::ok(),
        Err(error) => Check::unreachable(error.to_string()),
    }
}

async fn probe_queue(env: &Env) -> Check {
    let queue = match env.queue("INBOUND") {
        Ok(queue) => queue,
        Err(error) => return Check::unbound(error.to_string()),
    };
    let probe = HealthProbe {
        health_probe: Date::now().as_millis(),
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
