//! The counters of `GET /v1/metrics` in D1's `metrics` table, where they only ever increase, and
//! the same increments as Workers Analytics Engine data points where the `ANALYTICS` binding is
//! configured.

use super::d1;
use crate::core::api_error::ApiError;
use crate::core::json;
use crate::core::metrics::{merge, Increment, Row};
use worker::{AnalyticsEngineDataPointBuilder, D1Database, D1PreparedStatement, Env};

/// The statement that adds `increment` to its counter.
pub fn add(db: &D1Database, increment: &Increment) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "INSERT INTO metrics (name, provider, label, value) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (name, provider, label) DO UPDATE SET value = value + excluded.value",
        &[
            increment.metric.name().into(),
            increment.provider.as_str().into(),
            increment.label.into(),
            increment.value.into(),
        ],
    )
}

/// Every counter, sorted as the exposition lists them ([`crate::core::metrics::render`]).
pub async fn all(db: &D1Database) -> Result<Vec<Row>, ApiError> {
    let sql = "SELECT name, provider, label, value FROM metrics ORDER BY name, provider, label";
    let rows = d1::rows(db, sql, &[]).await?;
    let text = |row: &serde_json::Value, field: &str| {
        json::text(row, field).unwrap_or_default().to_owned()
    };
    Ok(rows
        .iter()
        .map(|row| Row {
            name: text(row, "/name"),
            provider: text(row, "/provider"),
            label: text(row, "/label"),
            value: json::at(row, "/value").as_u64().unwrap_or_default(),
        })
        .collect())
}

/// Writes `increments` to the `ANALYTICS` dataset, if it is bound: one data point each, blobs
/// `[metric, provider, label]`, double `[value]`, index `provider` (README, "Operating").
pub fn to_analytics(env: &Env, increments: &[Increment]) {
    let Ok(dataset) = env.analytics_engine("ANALYTICS") else {
        return;
    };
    for increment in increments {
        let point = AnalyticsEngineDataPointBuilder::new()
            .indexes([increment.provider.as_str()])
            .blobs([
                increment.metric.name(),
                increment.provider.as_str(),
                increment.label,
            ])
            .add_double(increment.value as f64)
            .build();
        if let Err(error) = dataset.write_data_point(&point) {
            return worker::console_error!("analytics data point not written: {error}");
        }
    }
}

/// Increments written outside a queue batch (the rejection flush, outbound calls): one D1
/// batch, with the statements `with` (an outbound call's attempt), and the same data points to
/// Analytics Engine. A failure is logged.
pub async fn add_all(
    db: &D1Database,
    env: &Env,
    increments: Vec<Increment>,
    with: Vec<D1PreparedStatement>,
) {
    let increments = merge(increments);
    if increments.is_empty() && with.is_empty() {
        return;
    }
    let statements: Result<Vec<_>, _> = increments.iter().map(|i| add(db, i)).collect();
    let outcome = match statements {
        Ok(mut statements) => {
            statements.extend(with);
            d1::batch(db, statements).await.map_err(|e| e.to_string())
        }
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = outcome {
        worker::console_error!(
            "{} metric increments not written: {error}",
            increments.len()
        );
    }
    to_analytics(env, &increments);
}
