//! What every admin collection shares: list (cursor-paginated, filtered), get, revoke, always
//! within the caller's reach ([`crate::edge::store::reach`]): what a restricted caller does not
//! reach is not listed and answers 404. Also the row readers the handlers share
//! ([`provider_of`], [`kind_of`]).
//!
//! The rows are read and written by [`crate::edge::store::collection`]; the filters a list takes
//! are [`crate::core::admin::filters`].

use super::{Call, Reply};
use crate::core::admin::{filters, ListQuery};
use crate::core::api_error::ApiError;
use crate::core::authority::{self, AuthorityError};
use crate::core::json;
use crate::core::route::Resource;
use crate::core::tenancy::{ProfileKind, Provider, TenancyError};
use crate::edge::store::collection::{self as rows, table};
use crate::edge::store::{bindings, d1, ledger, secrets};
use serde_json::{json, Value};

/// `GET /v1/<resource>?limit=&cursor=&<filter>=`: rows ordered by id, `next_cursor` when more.
pub async fn list(call: &Call<'_>, resource: Resource) -> Result<Reply, ApiError> {
    let query = ListQuery::parse(filters(resource), call.query_pairs())?;
    let (items, next_cursor) =
        rows::list(call.db, resource, &call.caller.restriction, &query).await?;
    let items: Vec<Value> = items.into_iter().map(|row| shape(resource, row)).collect();
    Ok((200, json!({ "items": items, "next_cursor": next_cursor })))
}

/// `GET /v1/<resource>/{id}`, with secret metadata and allowlists where the resource has them.
pub async fn get(call: &Call<'_>, resource: Resource, id: &str) -> Result<Reply, ApiError> {
    Ok((200, view(call, resource, id).await?))
}

/// The full JSON view of one object, or 404.
pub async fn view(call: &Call<'_>, resource: Resource, id: &str) -> Result<Value, ApiError> {
    let row = find(call, resource, id).await?;
    let mut view = shape(resource, row);
    match resource {
        Resource::AppProfiles | Resource::Installations => {
            let secrets = secrets::metadata(call.db, id, call.now).await?;
            json::set(&mut view, "secrets", secrets);
        }
        Resource::Bindings => {
            let allowlist = bindings::allowlist_of(call.db, id).await?;
            json::set(&mut view, "allowlist", allowlist);
        }
        Resource::Principals | Resource::Orgs => {}
    }
    Ok(view)
}

/// The row with `id` within the caller's reach, or 404 naming it.
pub async fn find(call: &Call<'_>, resource: Resource, id: &str) -> Result<Value, ApiError> {
    rows::find(call.db, resource, &call.caller.restriction, id)
        .await?
        .ok_or_else(|| ApiError::NoSuch {
            what: table(resource).what,
            id: id.to_owned(),
        })
}

/// The row with `id` within the caller's reach, or 404; 409 when it is revoked.
pub async fn find_active(call: &Call<'_>, resource: Resource, id: &str) -> Result<Value, ApiError> {
    let row = find(call, resource, id).await?;
    if json::at(&row, "/status") != "active" {
        return Err(TenancyError::Revoked {
            what: table(resource).what,
            id: id.to_owned(),
        }
        .into());
    }
    Ok(row)
}

/// The provider of an app profile row.
pub fn provider_of(profile: &Value) -> Result<Provider, ApiError> {
    Provider::parse(json::at(profile, "/provider").as_str().unwrap_or_default())
        .map_err(d1::internal)
}

/// The kind of an app profile row.
pub fn kind_of(profile: &Value) -> ProfileKind {
    if json::at(profile, "/kind") == "byoa" {
        ProfileKind::Byoa
    } else {
        ProfileKind::Platform
    }
}

/// The org an object's audit entries concern (an org's own id; none for principals and platform
/// profiles).
pub fn org_of(resource: Resource, row: &Value) -> Option<&str> {
    match resource {
        Resource::Orgs => row["id"].as_str(),
        Resource::Principals => None,
        Resource::AppProfiles | Resource::Installations | Resource::Bindings => {
            row["org_id"].as_str()
        }
    }
}

/// Refuses a change to a platform-owned app profile by a restricted caller (it may read them).
pub fn check_profile_change(call: &Call<'_>, profile: &Value) -> Result<(), AuthorityError> {
    if profile["org_id"].is_null() {
        authority::require_unrestricted(&call.caller, "changing a platform app profile")?;
    }
    Ok(())
}

/// `POST /v1/<resource>/{id}/revoke`: status → revoked, audited. Revoking twice is a conflict.
/// (Principals have their own rules: [`super::principals::revoke`].)
pub async fn revoke(call: &Call<'_>, resource: Resource, id: &str) -> Result<Reply, ApiError> {
    let row = find_active(call, resource, id).await?;
    if resource == Resource::AppProfiles {
        check_profile_change(call, &row)?;
    }
    mark_revoked(call, resource, id, org_of(resource, &row)).await?;
    Ok((200, view(call, resource, id).await?))
}

/// Sets `id`'s status to revoked with its `<what>.revoke` audit entry.
pub async fn mark_revoked(
    call: &Call<'_>,
    resource: Resource,
    id: &str,
    org_id: Option<&str>,
) -> Result<(), ApiError> {
    let event = call
        .event(&format!("{}.revoke", table(resource).what), id)
        .for_org(org_id);
    ledger::commit(call.db, &event, call.now, || {
        Ok(vec![rows::revoke(call.db, resource, id, call.now)?])
    })
    .await?;
    Ok(())
}

/// Turns stored columns into the API's shape: scopes as a list, metadata as an object, a
/// binding's selector columns as one object.
pub fn shape(resource: Resource, mut row: Value) -> Value {
    match resource {
        Resource::Principals => {
            let scopes: Vec<Value> = json::at(&row, "/scopes")
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
                .map(|scope| json!(scope))
                .collect();
            json::set(&mut row, "scopes", scopes);
            for column in ["org_ids", "agent_ids"] {
                let ids = json::at(&row, &format!("/{column}"))
                    .as_str()
                    .map_or(Value::Null, |ids| {
                        serde_json::from_str(ids).unwrap_or(json!([]))
                    });
                json::set(&mut row, column, ids);
            }
        }
        Resource::Installations => {
            let metadata = json::at(&row, "/metadata").as_str().unwrap_or("{}");
            let metadata: Value = serde_json::from_str(metadata).unwrap_or_else(|_| json!({}));
            json::set(&mut row, "metadata", metadata);
        }
        Resource::Bindings => {
            let Some(object) = row.as_object_mut() else {
                return row;
            };
            let mut selector = serde_json::Map::new();
            for (column, key) in [
                ("conversation_id", "conversation"),
                ("peer_id", "peer"),
                ("team_id", "team"),
            ] {
                if let Some(value) = object.remove(column).filter(|v| !v.is_null()) {
                    selector.insert(key.to_owned(), value);
                }
            }
            object.insert("selector".to_owned(), Value::Object(selector));
        }
        Resource::Orgs | Resource::AppProfiles => {}
    }
    row
}
