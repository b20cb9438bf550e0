//! `/v1/rollout`: kill switches and staged rollout per provider, and the global switch `*`.

use super::{Call, Reply};
use crate::core::admin::{check_rollout_key, parse, FlagChange};
use crate::core::api_error::ApiError;
use crate::core::authority;
use crate::core::json;
use crate::core::tenancy::{check_flag_change, Stage};
use crate::edge::{d1, ledger};
use serde_json::{json, Value};

const COLUMNS: &str = "key, stage, canary_org_ids, reason, updated_by, updated_at";

/// `GET /v1/rollout`: every flag that was set (a provider without one is `on`).
pub async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    authority::require_unrestricted(&call.caller, "reading rollout flags")?;
    let sql = format!("SELECT {COLUMNS} FROM rollout_flags ORDER BY key");
    let items: Vec<Value> = d1::rows(call.db, &sql, &[])
        .await?
        .into_iter()
        .map(shape)
        .collect();
    Ok((200, json!({ "items": items })))
}

/// `PUT /v1/rollout/{key}`: records who and why; promoting canary → on needs a reason.
pub async fn set(call: &Call<'_>, key: &str) -> Result<Reply, ApiError> {
    authority::require_unrestricted(&call.caller, "changing rollout flags")?;
    check_rollout_key(key)?;
    let body: FlagChange = parse(&call.body)?;
    body.validate()?;
    let current = current_stage(call, key).await?;
    check_flag_change(key, current, body.stage, body.reason.as_deref())?;
    let canary = serde_json::to_string(&body.canary_org_ids).map_err(d1::internal)?;
    let stage = stage_name(body.stage);
    let event = call.event("rollout.set", key).with_detail(json!({
        "from": current.map(stage_name),
        "to": stage,
        "canary_org_ids": body.canary_org_ids,
        "reason": body.reason,
    }));
    ledger::commit(call.db, &event, call.now, || {
        Ok(vec![d1::statement(
            call.db,
            "INSERT INTO rollout_flags (key, stage, canary_org_ids, reason, updated_by, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (key) DO UPDATE SET stage = ?2, canary_org_ids = ?3, reason = ?4, \
             updated_by = ?5, updated_at = ?6",
            &[
                key.into(),
                stage.into(),
                (&canary).into(),
                body.reason.as_deref().into(),
                (&call.caller.principal_id).into(),
                call.now.into(),
            ],
        )?])
    })
    .await?;
    let sql = format!("SELECT {COLUMNS} FROM rollout_flags WHERE key = ?1");
    let row = d1::first::<Value>(call.db, &sql, &[key.into()]).await?;
    Ok((200, shape(row.unwrap_or_default())))
}

async fn current_stage(call: &Call<'_>, key: &str) -> Result<Option<Stage>, ApiError> {
    let row: Option<Value> = d1::first(
        call.db,
        "SELECT stage FROM rollout_flags WHERE key = ?1",
        &[key.into()],
    )
    .await?;
    Ok(row.and_then(|row| serde_json::from_value(json::at(&row, "/stage").clone()).ok()))
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Off => "off",
        Stage::Canary => "canary",
        Stage::On => "on",
    }
}

fn shape(mut row: Value) -> Value {
    let canary = json::at(&row, "/canary_org_ids").as_str().unwrap_or("[]");
    let canary: Value = serde_json::from_str(canary).unwrap_or_else(|_| json!([]));
    json::set(&mut row, "canary_org_ids", canary);
    row
}
