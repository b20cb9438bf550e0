//! `/v1/messages`: the agent runtime sends, edits, deletes and follows messages through
//! channel-edge, which holds the provider credentials ([`crate::core::outbound`]).
//!
//! Each handler checks what needs D1 (the binding, the installation's liveness, the receipt
//! within the caller's reach), then hands the message to its conversation's Durable Object
//! ([`crate::edge::conversation`]), which sends it in order.

use super::collection::{self, provider_of};
use super::{Call, Reply};
use crate::core::api_error::ApiError;
use crate::core::delivery_log::LogQuery;
use crate::core::json;
use crate::core::outbound::conversation::{NewQueued, Receipt};
use crate::core::outbound::{
    check_caller, Address, BindingFacts, Failure, MessageEdit, NewMessage, Status, Target,
};
use crate::core::reply::{self, ReplyError};
use crate::core::route::Resource;
use crate::core::tenancy::Selector;
use crate::edge::conversation::{self, Command};
use crate::edge::runtime;
use crate::edge::store::messages::{self, Inserted, ReceiptRow};
use crate::edge::store::secrets::key_ring;
use crate::edge::store::{self as store, deliveries, directory};
use serde_json::{json, Value};

/// `POST /v1/messages` → 202 with the message's receipt.
pub async fn send(call: &Call<'_>) -> Result<Reply, ApiError> {
    let body = NewMessage::parse(&call.body)?;
    let target = target(call, &body).await?;
    check_caller(&call.caller, &target)?;
    require_live(call, &target).await?;
    let new_id = runtime::new_id("msg")?;
    let row = ReceiptRow {
        id: &new_id,
        target: &target,
        is_final: body.is_final,
        idempotency_key: body.idempotency_key.as_deref(),
        created_by: &call.caller.principal_id,
    };
    let (id, replayed) = match messages::insert(call.db, &row, call.now).await? {
        Inserted::New => (new_id, false),
        Inserted::Existing(existing) => (same_message(&existing, &target)?, true),
    };
    let message = NewQueued {
        id: id.clone(),
        target: target.clone(),
        text: body.text,
        is_final: body.is_final,
    };
    let enqueue = Command::Enqueue { message };
    let queued = conversation::call(call.env, &target.conversation_key(), &enqueue).await;
    if let Err(error) = queued {
        if !replayed {
            not_queued(call, &id, &error).await;
        }
        return Err(error);
    }
    Ok((202, view(call, &id, None).await?))
}

/// `GET /v1/messages/{id}`
/// `GET /v1/messages/{id}`: the receipt with every provider call made for it (`attempts_log`).
pub async fn get(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let mut view = view(call, id, None).await?;
    let attempts = messages::attempts_of(call.db, id).await?;
    json::set(&mut view, "attempts_log", Value::Array(attempts));
    Ok((200, view))
}

/// `GET /v1/messages`: receipts newest first, filtered, within the caller's reach.
pub async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let query = LogQuery::parse(LogQuery::MESSAGES, call.query_pairs())?;
    let restriction = &call.caller.restriction;
    let rows = deliveries::page(call.db, &messages::LOG, &query, restriction, call.now).await?;
    let (rows, next_cursor) = store::page(rows, query.limit, |row| {
        json::at(row, "/seq").as_u64().map(|seq| seq.to_string())
    });
    let items: Vec<Value> = rows.into_iter().map(shape).collect();
    Ok((200, json!({ "items": items, "next_cursor": next_cursor })))
}

/// `PATCH /v1/messages/{id}`: the whole new text; `final: false` while a stream goes on.
pub async fn edit(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let edit = MessageEdit::parse(&call.body)?;
    let row = receipt(call, id).await?;
    let target = target_of(&row)?;
    let is_final = json::at(&row, "/final").as_i64() == Some(1);
    if is_final && !target.provider.spec().capabilities.edits {
        return Err(ApiError::Unprocessable {
            code: "unsupported",
            message: format!(
                "{} messages cannot be edited once final; send a new message",
                target.provider.as_str()
            ),
        });
    }
    let command = Command::Edit {
        id: id.to_owned(),
        text: edit.text,
        is_final: edit.is_final,
    };
    let receipt = conversation::call(call.env, &target.conversation_key(), &command).await?;
    Ok((200, view(call, id, Some(receipt)).await?))
}

/// `DELETE /v1/messages/{id}`: deleted at the provider (or never sent, when still queued).
pub async fn delete(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let target = receipt_target(call, id).await?;
    if !target.provider.spec().capabilities.deletes {
        return Err(ApiError::Unprocessable {
            code: "unsupported",
            message: format!("{} messages cannot be deleted", target.provider.as_str()),
        });
    }
    let command = Command::Delete { id: id.to_owned() };
    let receipt = conversation::call(call.env, &target.conversation_key(), &command).await?;
    Ok((200, view(call, id, Some(receipt)).await?))
}

/// Where `body` goes: its reply capability opened, or the binding it names checked.
async fn target(call: &Call<'_>, body: &NewMessage) -> Result<Target, ApiError> {
    match body.address()? {
        Address::Reply(capability) => {
            let reply =
                reply::open(&key_ring(call.env)?, capability, call.now).map_err(reply_error)?;
            Ok(Target::from_reply(reply, capability, body.thread)?)
        }
        Address::Explicit {
            binding_id,
            conversation,
            thread_id,
        } => {
            let binding = collection::find_active(call, Resource::Bindings, binding_id).await?;
            let installation_id = text(&binding, "/installation_id");
            let installation =
                collection::find_active(call, Resource::Installations, installation_id).await?;
            let profile_id = text(&installation, "/app_profile_id");
            let profile = collection::find(call, Resource::AppProfiles, profile_id).await?;
            let selector = Selector {
                conversation: json::at(&binding, "/conversation_id")
                    .as_str()
                    .map(str::to_owned),
                peer: json::at(&binding, "/peer_id").as_str().map(str::to_owned),
                team: json::at(&binding, "/team_id").as_str().map(str::to_owned),
            };
            let facts = BindingFacts {
                id: binding_id,
                agent_id: text(&binding, "/agent_id"),
                selector: &selector,
                installation_id,
                org_id: text(&installation, "/org_id"),
                provider: provider_of(&profile)?,
            };
            let mut target = Target::explicit(&facts, conversation, thread_id)?;
            target.thread = body.thread;
            Ok(target)
        }
    }
}

fn text<'a>(row: &'a Value, pointer: &str) -> &'a str {
    json::at(row, pointer).as_str().unwrap_or_default()
}

/// A refused reply capability: 422 saying why.
fn reply_error(error: ReplyError) -> ApiError {
    let code = match error {
        ReplyError::Expired => "reply_expired",
        ReplyError::Malformed | ReplyError::Unauthentic => "invalid_reply_to",
    };
    ApiError::Unprocessable {
        code,
        message: error.to_string(),
    }
}

/// 409 unless the target's installation (with its org and app profile) and binding are live.
async fn require_live(call: &Call<'_>, target: &Target) -> Result<(), ApiError> {
    let installation =
        directory::installation(call.db, call.env, &target.installation_id, call.now).await?;
    let live = installation.is_some_and(|i| i.bindings.iter().any(|b| b.id == target.binding_id));
    if live {
        return Ok(());
    }
    Err(ApiError::Conflict {
        message: format!(
            "installation {} or binding {} (or its org or app profile) is revoked: nothing is sent",
            target.installation_id, target.binding_id
        ),
    })
}

/// The id of the message an idempotency key already named; 409 when that message went
/// somewhere else (the key was reused for another message).
fn same_message(existing: &Value, target: &Target) -> Result<String, ApiError> {
    let same = text(existing, "/installation_id") == target.installation_id
        && text(existing, "/conversation_id") == target.conversation_id;
    if !same {
        return Err(ApiError::Conflict {
            message: "idempotency_key was already used for a message to another conversation"
                .into(),
        });
    }
    Ok(text(existing, "/id").to_owned())
}

/// The receipt of a message its conversation refused or could not be asked to queue.
async fn not_queued(call: &Call<'_>, id: &str, error: &ApiError) {
    let receipt = Receipt {
        id: id.to_owned(),
        status: Status::Failed,
        is_final: true,
        provider_ids: Vec::new(),
        attempts: 0,
        failure: Some(Failure {
            code: "not_queued".into(),
            reason: error.to_string(),
        }),
    };
    if let Err(error) = messages::update(call.db, &receipt, call.now).await {
        worker::console_error!("receipt {id} not marked as not queued: {error}");
    }
}

/// The target a stored receipt names (404 when out of the caller's reach).
async fn receipt_target(call: &Call<'_>, id: &str) -> Result<Target, ApiError> {
    target_of(&receipt(call, id).await?)
}

/// The target a receipt row names.
fn target_of(row: &Value) -> Result<Target, ApiError> {
    Ok(Target {
        provider: provider_of(row)?,
        org_id: text(row, "/org_id").to_owned(),
        installation_id: text(row, "/installation_id").to_owned(),
        binding_id: text(row, "/binding_id").to_owned(),
        agent_id: text(row, "/agent_id").to_owned(),
        conversation_id: text(row, "/conversation_id").to_owned(),
        thread_id: json::at(row, "/thread_id").as_str().map(str::to_owned),
        message_id: None,
        reply_to: None,
        thread: None,
    })
}

async fn receipt(call: &Call<'_>, id: &str) -> Result<Value, ApiError> {
    messages::get(call.db, &call.caller.restriction, id)
        .await?
        .ok_or_else(|| ApiError::NoSuch {
            what: "message",
            id: id.to_owned(),
        })
}

/// The message as the API shows it: its receipt, with what its conversation just answered
/// (`fresh`) over what D1 has.
async fn view(call: &Call<'_>, id: &str, fresh: Option<Value>) -> Result<Value, ApiError> {
    let mut view = shape(receipt(call, id).await?);
    if let (Some(view), Some(Value::Object(fresh))) = (view.as_object_mut(), fresh) {
        view.extend(fresh);
    }
    Ok(view)
}

/// A receipt row as the API shows it: provider ids as an array, `final` as a boolean.
fn shape(mut row: Value) -> Value {
    let ids = json::at(&row, "/provider_message_ids")
        .as_str()
        .unwrap_or("[]");
    let ids: Value = serde_json::from_str(ids).unwrap_or_else(|_| json!([]));
    json::set(&mut row, "provider_message_ids", ids);
    let is_final = json::at(&row, "/final").as_i64() == Some(1);
    json::set(&mut row, "final", is_final);
    if let Some(row) = row.as_object_mut() {
        row.remove("seq");
    }
    row
}
