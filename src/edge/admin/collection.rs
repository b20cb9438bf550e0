//! What every admin collection shares: list (cursor-paginated, filtered), get, revoke.
//!
//! Each resource's [`Spec`] names its table, the columns it shows (never a secret: secrets live
//! in the `secrets` table and are shown as metadata only) and the query filters it accepts.

use super::{Call, Reply};
use crate::core::admin::Page;
use crate::core::api_error::ApiError;
use crate::core::route::Resource;
use crate::edge::d1::{self, Arg};
use serde_json::{json, Value};
use worker::D1Database;

/// How one resource is stored and shown.
pub struct Spec {
    /// The D1 table.
    pub table: &'static str,
    /// The noun in messages and audit actions (`org`, `app_profile`, …).
    pub what: &'static str,
    /// The columns shown.
    pub columns: &'static str,
    /// Query parameters that filter a list by the column of the same name.
    pub filters: &'static [&'static str],
}

/// The spec of `resource`.
pub fn spec(resource: Resource) -> &'static Spec {
    match resource {
        Resource::Principals => &Spec {
            table: "principals",
            what: "principal",
            columns: "id, name, public_key, scopes, status, expires_at, created_by, created_at, updated_at",
            filters: &["status"],
        },
        Resource::Orgs => &Spec {
            table: "orgs",
            what: "org",
            columns: "id, name, status, created_at, updated_at",
            filters: &["status"],
        },
        Resource::AppProfiles => &Spec {
            table: "app_profiles",
            what: "app_profile",
            columns: "id, provider, kind, org_id, provider_app_id, name, status, created_at, updated_at",
            filters: &["status", "provider", "kind", "org_id"],
        },
        Resource::Installations => &Spec {
            table: "installations",
            what: "installation",
            columns: "id, app_profile_id, org_id, tenant_key, metadata, status, created_at, updated_at",
            filters: &["status", "app_profile_id", "org_id"],
        },
        Resource::Bindings => &Spec {
            table: "bindings",
            what: "binding",
            columns: "id, installation_id, agent_id, conversation_id, peer_id, team_id, priority, \
                      sender_policy, fallback_installation_id, status, created_by, created_at, updated_at",
            filters: &["status", "installation_id", "agent_id"],
        },
    }
}

/// `GET /v1/<resource>?limit=&cursor=&<filter>=`: rows ordered by id, `next_cursor` when more.
pub async fn list(call: &Call<'_>, resource: Resource) -> Result<Reply, ApiError> {
    let spec = spec(resource);
    let page = Page::from_query(call.query_pairs())?;
    let mut sql = format!("SELECT {} FROM {} WHERE id > ?1", spec.columns, spec.table);
    let mut args: Vec<Arg> = vec![page.cursor.clone().unwrap_or_default().into()];
    for (name, value) in call.query_pairs() {
        if spec.filters.contains(&name) {
            args.push(value.into());
            sql.push_str(&format!(" AND {name} = ?{}", args.len()));
        }
    }
    args.push(i64::from(page.limit + 1).into());
    sql.push_str(&format!(" ORDER BY id LIMIT ?{}", args.len()));
    let mut items = d1::rows(call.db, &sql, &args).await?;
    let next_cursor = if items.len() > page.limit as usize {
        items.truncate(page.limit as usize);
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
    Ok((200, view(call.db, resource, id, call.now).await?))
}

/// The full JSON view of one object, or 404.
pub async fn view(
    db: &D1Database,
    resource: Resource,
    id: &str,
    now: u64,
) -> Result<Value, ApiError> {
    let spec = spec(resource);
    let row = find(db, spec, id).await?;
    let mut view = shape(resource, row);
    match resource {
        Resource::AppProfiles | Resource::Installations => {
            view["secrets"] = Value::Array(crate::edge::secrets::metadata(db, id, now).await?);
        }
        Resource::Bindings => {
            view["allowlist"] = super::bindings::allowlist_of(db, id).await?;
        }
        Resource::Principals | Resource::Orgs => {}
    }
    Ok(view)
}

/// The row with `id`, or 404 naming it.
pub async fn find(db: &D1Database, spec: &Spec, id: &str) -> Result<Value, ApiError> {
    let sql = format!("SELECT {} FROM {} WHERE id = ?1", spec.columns, spec.table);
    d1::first::<Value>(db, &sql, &[id.into()])
        .await?
        .ok_or_else(|| ApiError::NoSuch {
            what: spec.what,
            id: id.to_owned(),
        })
}

/// The row with `id`, or 404; 409 when it is revoked.
pub async fn find_active(db: &D1Database, resource: Resource, id: &str) -> Result<Value, ApiError> {
    let spec = spec(resource);
    let row = find(db, spec, id).await?;
    if row["status"] != "active" {
        return Err(crate::core::tenancy::TenancyError::Revoked {
            what: spec.what,
            id: id.to_owned(),
        }
        .into());
    }
    Ok(row)
}

/// `POST /v1/<resource>/{id}/revoke`: status → revoked, audited. Revoking twice is a conflict.
pub async fn revoke(call: &Call<'_>, resource: Resource, id: &str) -> Result<Reply, ApiError> {
    let spec = spec(resource);
    find_active(call.db, resource, id).await?;
    let sql = format!(
        "UPDATE {} SET status = 'revoked', updated_at = ?2 WHERE id = ?1 AND status = 'active'",
        spec.table
    );
    let event = call.event(&format!("{}.revoke", spec.what), id);
    super::ledger::commit(call.db, &event, call.now, || {
        Ok(vec![d1::statement(
            call.db,
            &sql,
            &[id.into(), call.now.into()],
        )?])
    })
    .await?;
    Ok((200, view(call.db, resource, id, call.now).await?))
}

/// Turns stored columns into the API's shape: scopes as a list, metadata as an object, a
/// binding's selector columns as one object.
pub fn shape(resource: Resource, mut row: Value) -> Value {
    match resource {
        Resource::Principals => {
            let scopes: Vec<Value> = row["scopes"]
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
                .map(|scope| json!(scope))
                .collect();
            row["scopes"] = Value::Array(scopes);
        }
        Resource::Installations => {
            let metadata = row["metadata"].as_str().unwrap_or("{}");
            row["metadata"] = serde_json::from_str(metadata).unwrap_or_else(|_| json!({}));
        }
        Resource::Bindings => {
            let object = row.as_object_mut().expect("D1 rows are objects");
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
