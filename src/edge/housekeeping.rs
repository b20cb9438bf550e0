//! The cron trigger: deletes rows whose time is up.

use worker::{event, Date, Env, ScheduleContext, ScheduledEvent};

/// What is deleted, each with `?1` = now (Unix seconds). Claimed install tokens stay: the
/// identities they linked refer to them.
const DELETIONS: &[&str] = &[
    "DELETE FROM dedupe_keys WHERE expires_at <= ?1",
    "DELETE FROM secrets WHERE expires_at <= ?1",
    "DELETE FROM webhook_rejections WHERE expires_at <= ?1",
    "DELETE FROM install_tokens WHERE expires_at <= ?1 AND claimed_at IS NULL",
    "DELETE FROM tenant_claims WHERE expires_at <= ?1",
];

#[event(scheduled)]
async fn housekeeping(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let now_seconds = (Date::now().as_millis() / 1000) as f64;
    let db = match env.d1("DB") {
        Ok(db) => db,
        Err(error) => return worker::console_error!("housekeeping: no DB binding: {error}"),
    };
    for sql in DELETIONS {
        let statement = db.prepare(*sql);
        let outcome = match statement.bind(&[now_seconds.into()]) {
            Ok(statement) => statement.run().await,
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            worker::console_error!("housekeeping: {sql}: {error}");
        }
    }
}
