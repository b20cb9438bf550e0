//! The rows of the admin collections (principals, orgs, app profiles, installations, bindings):
//! listed, read and revoked, always within the caller's reach ([`super::reach`]).
//!
//! Each resource's [`Table`] names its table and the columns it shows (never a secret: secrets
//! live in the `secrets` table and are shown as metadata only).

use super::d1::{self, Arg};
use super::reach;
use crate::core::admin::ListQuery;
use crate::core::api_error::ApiError;
use crate::core::authority::Restriction;
use crate::core::route::Resource;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement};

/// How one resource is stored and shown.
pub struct Table {
    /// The D1 table.
    pub table: &'static str,
    /// The noun in messages and audit actions (`org`, `app_profile`, …).
    pub what: &'static str,
    /// The columns shown.
    pub columns: &'static str,
}

/// The table of `resource`.
pub fn table(resource: Resource) -> &'static Table {
    match resource {
        Resource::Principals => &Table {
            table: "principals",
            what: "principal",
            columns: "id, name, public_key, scopes, org_ids, agent_ids, status, expires_at, created_by, \
                      created_at, updated_at",
        },
        Resource::Orgs => &Table {
            table: "orgs",
            what: "org",
            columns: "id, name, status, created_at, updated_at",
        },
        Resource::AppProfiles => &Table {
            table: "app_profiles",
            what: "app_profile",
            columns: "id, provider, kind, org_id, provider_app_id, name, status, created_at, updated_at",
        },
        Resource::Installations => &Table {
            table: "installations",
            what: "installation",
            columns: "id, app_profile_id, org_id, tenant_key, metadata, status, created_at, updated_at",
        },
        Resource::Bindings => &Table {
            table: "bindings",
            what: "binding",
            columns: "id, installation_id, \
                      (SELECT org_id FROM installations WHERE id = bindings.installation_id) AS org_id, \
                      agent_id, conversation_id, peer_id, team_id, priority, sender_policy, \
                      fallback_installation_id, status, created_by, created_at, updated_at",
        },
    }
}

/// One page of `resource`'s rows within `restriction`, after `query`'s cursor and matching its
/// filters, ordered by id; and the next page's cursor when there is more.
pub async fn list(
    db: &D1Database,
    resource: Resource,
    restriction: &Restriction,
    query: &ListQuery,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let table = table(resource);
    let mut sql = format!(
        "SELECT {} FROM {} WHERE id > ?1",
        table.columns, table.table
    );
    let mut args: Vec<Arg> = vec![query.page.cursor.clone().unwrap_or_default().into()];
    for (column, value) in &query.filters {
        args.push(value.into());
        sql.push_str(&format!(" AND {column} = ?{}", args.len()));
    }
    sql.push_str(&reach::condition(resource, restriction, &mut args));
    args.push(i64::from(query.page.limit + 1).into());
    sql.push_str(&format!(" ORDER BY id LIMIT ?{}", args.len()));
    let rows = d1::rows(db, &sql, &args).await?;
    Ok(super::page(rows, query.page.limit, |row| {
        row["id"].as_str().map(str::to_owned)
    }))
}

/// The row of `resource` with `id` within `restriction`, if there is one.
pub async fn find(
    db: &D1Database,
    resource: Resource,
    restriction: &Restriction,
    id: &str,
) -> Result<Option<Value>, ApiError> {
    let table = table(resource);
    let mut args: Vec<Arg> = vec![id.into()];
    let reach = reach::condition(resource, restriction, &mut args);
    let sql = format!(
        "SELECT {} FROM {} WHERE id = ?1{reach}",
        table.columns, table.table
    );
    d1::first::<Value>(db, &sql, &args).await
}

/// The statement that revokes active row `id` of `resource` at `now`.
pub fn revoke(
    db: &D1Database,
    resource: Resource,
    id: &str,
    now: u64,
) -> Result<D1PreparedStatement, ApiError> {
    let sql = format!(
        "UPDATE {} SET status = 'revoked', updated_at = ?2 WHERE id = ?1 AND status = 'active'",
        table(resource).table
    );
    d1::statement(db, &sql, &[id.into(), now.into()])
}
