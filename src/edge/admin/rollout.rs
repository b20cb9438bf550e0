//! `/v1/rollout`: kill switches and staged rollout per provider, and the global switch `*`.

use super::{Call, Reply};
use crate::core::admin::{check_rollout_key, parse, FlagChange};
use crate::core::api_error::ApiError;
use crate::core::authority;
use crate::core::json;
use crate::core::tenancy::{check_flag_change, Stage};
use crate::edge::store::rollout::{self, FlagRow};
use crate::edge::store::{d1, ledger};
use serde_json::{json, Value};

/// `GET /v1/rollout`: every flag that was set (a provider without one is `on`).
pub async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    authority::require_unrestricted(&call.caller, "reading rollout flags")?;
    let items: Vec<Value> = rollout::all(call.db)
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
    let current = rollout::stage(call.db, key).await?;
    check_flag_change(key, current, body.stage, body.reason.as_deref())?;
    let canary = serde_json::to_string(&body.canary_org_ids).map_err(d1::internal)?;
    let stage = stage_name(body.stage);
    let event = call.event("rollout.set", key).with_detail(json!({
        "from": current.map(stage_name),
        "to": stage,
        "canary_org_ids": body.canary_org_ids,
        "reason": body.reason,
    }));
    let flag = FlagRow {
        key,
        stage,
        canary_org_ids: &canary,
        reason: body.reason.as_deref(),
        updated_by: &call.caller.principal_id,
    };
    ledger::commit(call.db, &event, call.now, || {
        Ok(vec![rollout::set(call.db, &flag, call.now)?])
    })
    .await?;
    let row = rollout::get(call.db, key).await?;
    Ok((200, shape(row.unwrap_or_default())))
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
