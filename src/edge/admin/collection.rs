//! What every admin collection shares: list (cursor-paginated, filtered), get, revoke, always
//! within the caller's reach ([`super::reach`]): what a restricted caller does not reach is not
//! listed and answers 404.
//!
//! Each resource's [`Spec`] names its table and the columns it shows (never a secret: secrets
//! live in the `secrets` table and are shown as metadata only); the filters a list takes are
//! [`crate::core::admin::filters`].

use super::{reach, Call, Reply};
use crate::core::admin::{filters, ListQuery};
use crate::core::api_error::ApiError;
use crate::core::authority::{self, AuthorityError};
use crate::core::json;
use crate::core::route::Resource;
use crate::edge::d1::{self, Arg};
use serde_json::{json, Value};

/// How one resource is stored and shown.
pub struct Spec {
    /// The D1 table.
    pub table: &'static str,
    /// The noun in messages and audit actions (`org`, `app_profile`, …).
    pub what: &'static str,
    /// The columns shown.
    pub columns: &'static str,
}

/// The spec of `resource`.
pub fn spec(resource: Resource) -> &'static Spec {
    match resource {
        Resource::Principals => &Spec {
            table: "principals",
            what: "principal",
            columns: "id, name, public_key, scopes, org_ids, agent_ids, status, expires_at, created_by, \
                      created_at, updated_at",
        },
        Resource::Orgs => &Spec {
            table: "orgs",
            what: "org",
            columns: "id, name, status, created_at, updated_at",
        },
        Resource::AppProfiles => &Spec {
            table: "app_profiles",
            what: "app_profile",
            columns: "id, provider, kind, org_id, provider_app_id, name, status, created_at, updated_at",
        },
        Resource::Installations => &Spec {
            table: "installations",
            what: "installation",
            columns: "id, app_profile_id, org_id, tenant_key, metadata, status, created_at, updated_at",
        },
        Resource::Bindings => &Spec {
            table: "bindings",
            what: "binding",
            columns: "id, installation_id, \
                      (SELECT org_id FROM installations WHERE id = bindings.installation_id) AS org_id, \
                      agent_id, conversation_id, peer_id, team_id, priority, sender_policy, \
                      fallback_installation_id, status, created_by, created_at, updated_at",
        },
    }
}

/// `GET /v1/<resource>?limit=&cursor=&<filter>=`: rows ordered by id, `next_cursor` when more.
pub async fn list(call: &Call<'_>, resource: Resource) -> Result<Reply, ApiError> {
    let spec = spec(resource);
    let query = ListQuery::parse(filters(resource), call.query_pairs())?;
    let mut sql = format!("SELECT {} FROM {} WHERE id > ?1", spec.columns, spec.table);
    let mut args: Vec<Arg> = vec![query.page.cursor.clone().unwrap_or_default().into()];
    for (column, value) in query.filters {
        args.push(value.into());
        sql.push_str(&format!(" AND {column} = ?{}", args.len()));
    }
    sql.push_str(&reach::condition(
        resource,
        &call.caller.restriction,
        &mut args,
    ));
    args.push(i64::from(query.page.limit + 1).into());
    sql.push_str(&format!(" ORDER BY id LIMIT ?{}", args.len()));
    let mut items = d1::rows(call.db, &sql, &args).await?;
    let limit = query.page.limit as usize;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items
            .last()
            .and_then(|row| row["id"].as_str())
            .map(str::to_owned)
    } else {
        None
    };
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
            let secrets = crate::edge::secrets::metadata(call.db, id, call.now).await?;
            json::set(&mut view, "secrets", secrets);
        }
        Resource::Bindings => {
            let allowlist = super::bindings::allowlist_of(call.db, id).await?;
            json::set(&mut view, "allowlist", allowlist);
        }
        Resource::Principals | Resource::Orgs => {}
    }
    Ok(view)
}

/// The row with `id` within the caller's reach, or 404 naming it.
pub async fn find(call: &Call<'_>, resource: Resource, id: &str) -> Result<Value, ApiError> {
    let spec = spec(resource);
    let mut args: Vec<Arg> = vec![id.into()];
    let reach = reach::condition(resource, &call.caller.restriction, &mut args);
    let sql = format!(
        "SELECT {} FROM {} WHERE id = ?1{reach}",
        spec.columns, spec.table
    );
    d1::first::<Value>(call.db, &sql, &args)
        .await?
        .ok_or_else(|| ApiError::NoSuch {
            what: spec.what,
            id: id.to_owned(),
        })
}

/// The row with `id` within the caller's reach, or 404; 409 when it is revoked.
pub async fn find_active(call: &Call<'_>, resource: Resource, id: &str) -> Result<Value, ApiError> {
    let row = find(call, resource, id).await?;
    if json::at(&row, "/status") != "active" {
        return Err(crate::core::tenancy::TenancyError::Revoked {
            what: spec(resource).what,
            id: id.to_owned(),
        }
        .into());
    }
    Ok(row)
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
    let spec = spec(resource);
    let sql = format!(
        "UPDATE {} SET status = 'revoked', updated_at = ?2 WHERE id = ?1 AND status = 'active'",
        spec.table
    );
    let event = call
        .event(&format!("{}.revoke", spec.what), id)
        .for_org(org_id);
    super::ledger::commit(call.db, &event, call.now, || {
        Ok(vec![d1::statement(
            call.db,
            &sql,
            &[id.into(), call.now.into()],
        )?])
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
