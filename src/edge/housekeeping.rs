//! The cron trigger: deletes rows whose time is up ([`super::store::housekeeping`]).

use super::runtime;
use super::store::housekeeping::delete_expired;
use worker::{event, Env, ScheduleContext, ScheduledEvent};

#[event(scheduled)]
async fn housekeeping(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    match env.d1("DB") {
        Ok(db) => delete_expired(&db, runtime::now_seconds()).await,
        Err(error) => worker::console_error!("housekeeping: no DB binding: {error}"),
    }
}
