//! The cron trigger: deletes rows whose time is up.

use worker::{event, Date, Env, ScheduleContext, ScheduledEvent};

/// Tables with an `expires_at` column (Unix seconds) whose expired rows are deleted.
const EXPIRING_TABLES: &[&str] = &["dedupe_keys", "secrets", "webhook_rejections"];

#[event(scheduled)]
async fn housekeeping(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let now_seconds = (Date::now().as_millis() / 1000) as f64;
    let db = match env.d1("DB") {
        Ok(db) => db,
        Err(error) => return worker::console_error!("housekeeping: no DB binding: {error}"),
    };
    for table in EXPIRING_TABLES {
        let statement = db.prepare(format!("DELETE FROM {table} WHERE expires_at <= ?1"));
        let outcome = match statement.bind(&[now_seconds.into()]) {
            Ok(statement) => statement.run().await,
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            worker::console_error!("housekeeping: {table}: {error}");
        }
    }
}
