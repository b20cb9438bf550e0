//! Binding sessions in D1: the mirror of each session's state (for listing; the session itself
//! lives in its Durable Object) and the channel claims (`tenant_claims`) that let only one
//! session bind a channel at a time.

use super::d1::{self, Arg};
use super::reach;
use crate::core::api_error::ApiError;
use crate::core::authority::Restriction;
use crate::core::binding_session::Session;
use crate::core::json;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement};

/// Columns of a listed session.
const COLUMNS: &str =
    "id, org_id, app_profile_id, agent_id, provider, method, status, created_by, \
                       created_at, expires_at, updated_at";

/// The statement that mirrors `session` (inserted on start, its status updated after).
pub fn mirror(db: &D1Database, session: &Session) -> Result<D1PreparedStatement, ApiError> {
    let updated_at = session.history.last().map_or(session.created_at, |t| t.at);
    d1::statement(
        db,
        "INSERT INTO binding_sessions (id, org_id, app_profile_id, provider, method, status, \
         created_by, created_at, expires_at, updated_at, agent_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
        &[
            (&session.id).into(),
            (&session.org_id).into(),
            (&session.app_profile_id).into(),
            session.provider.as_str().into(),
            session.method.as_str().into(),
            session.status.as_str().into(),
            (&session.created_by).into(),
            session.created_at.into(),
            session.expires_at.into(),
            updated_at.into(),
            (&session.binding.agent_id).into(),
        ],
    )
}

/// Which sessions a list shows.
pub enum StatusFilter<'a> {
    /// All.
    Any,
    /// Those that have not ended.
    Active,
    /// Those in this state.
    Is(&'a str),
}

/// Up to `limit` mirrored sessions within `restriction`, newest first.
pub async fn list(
    db: &D1Database,
    status: StatusFilter<'_>,
    restriction: &Restriction,
    limit: u32,
) -> Result<Vec<Value>, ApiError> {
    let mut args: Vec<Arg> = vec![u64::from(limit).into()];
    let filter = match status {
        StatusFilter::Any => "1 = 1".to_owned(),
        StatusFilter::Active => {
            "status NOT IN ('completed', 'failed', 'expired', 'cancelled')".to_owned()
        }
        StatusFilter::Is(state) => {
            args.push(state.into());
            "status = ?2".to_owned()
        }
    };
    let reach = reach::owned("org_id", Some("agent_id"), restriction, &mut args);
    let sql = format!(
        "SELECT {COLUMNS} FROM binding_sessions WHERE {filter}{reach} \
         ORDER BY created_at DESC, id LIMIT ?1"
    );
    d1::rows(db, &sql, &args).await
}

/// Whether session `id` exists within `restriction`.
pub async fn exists(
    db: &D1Database,
    restriction: &Restriction,
    id: &str,
) -> Result<bool, ApiError> {
    let mut args: Vec<Arg> = vec![id.into()];
    let reach = reach::owned("org_id", Some("agent_id"), restriction, &mut args);
    let sql = format!("SELECT id FROM binding_sessions WHERE id = ?1{reach}");
    let found: Option<Value> = d1::first(db, &sql, &args).await?;
    Ok(found.is_some())
}

/// Why a session could not claim a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimRefused {
    /// The session's org or app profile was revoked.
    OwnerRevoked,
    /// The app profile already has this active installation for the channel.
    Installed(String),
    /// Another live session holds the claim.
    Held,
}

/// Claims channel `tenant_key` under `session`'s app profile for `session` until it expires,
/// unless its owners are revoked, the channel is installed, or another live session holds it.
/// Claiming again for the same session succeeds.
pub async fn claim_channel(
    db: &D1Database,
    session: &Session,
    tenant_key: &str,
    now: u64,
) -> Result<Result<(), ClaimRefused>, ApiError> {
    let claimed: Option<Value> = d1::first(
        db,
        "INSERT INTO tenant_claims (app_profile_id, tenant_key, session_id, expires_at) \
         SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM installations \
           WHERE app_profile_id = ?1 AND tenant_key = ?2 AND status = 'active') \
         AND EXISTS (SELECT 1 FROM app_profiles WHERE id = ?1 AND status = 'active') \
         AND EXISTS (SELECT 1 FROM orgs WHERE id = ?6 AND status = 'active') \
         ON CONFLICT (app_profile_id, tenant_key) DO UPDATE \
           SET session_id = excluded.session_id, expires_at = excluded.expires_at \
           WHERE tenant_claims.expires_at <= ?5 OR tenant_claims.session_id = excluded.session_id \
         RETURNING session_id",
        &[
            (&session.app_profile_id).into(),
            tenant_key.into(),
            (&session.id).into(),
            session.expires_at.into(),
            now.into(),
            (&session.org_id).into(),
        ],
    )
    .await?;
    if claimed.is_some() {
        return Ok(Ok(()));
    }
    let owners: Option<Value> = d1::first(
        db,
        "SELECT 1 AS live WHERE EXISTS (SELECT 1 FROM app_profiles WHERE id = ?1 AND status = 'active') \
         AND EXISTS (SELECT 1 FROM orgs WHERE id = ?2 AND status = 'active')",
        &[(&session.app_profile_id).into(), (&session.org_id).into()],
    )
    .await?;
    if owners.is_none() {
        return Ok(Err(ClaimRefused::OwnerRevoked));
    }
    let existing: Option<Value> = d1::first(
        db,
        "SELECT id FROM installations WHERE app_profile_id = ?1 AND tenant_key = ?2 \
         AND status = 'active'",
        &[(&session.app_profile_id).into(), tenant_key.into()],
    )
    .await?;
    Ok(Err(match existing {
        Some(row) => ClaimRefused::Installed(
            json::at(&row, "/id")
                .as_str()
                .unwrap_or("another installation")
                .to_owned(),
        ),
        None => ClaimRefused::Held,
    }))
}

/// The statement that lets go of the channel session `session_id` claimed.
pub fn release_channel(db: &D1Database, session_id: &str) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "DELETE FROM tenant_claims WHERE session_id = ?1",
        &[session_id.into()],
    )
}
