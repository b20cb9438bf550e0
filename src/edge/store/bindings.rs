//! Bindings and their sender allowlists.

use super::d1;
use crate::core::admin::SenderPolicy;
use crate::core::api_error::ApiError;
use crate::core::json;
use crate::core::tenancy::Selector;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement};

/// A binding to insert.
pub struct BindingRow<'a> {
    /// Its new id.
    pub id: &'a str,
    /// The installation whose traffic it routes.
    pub installation_id: &'a str,
    /// The agent that receives it.
    pub agent_id: &'a str,
    /// Its route selector.
    pub selector: &'a Selector,
    /// Its priority.
    pub priority: i64,
    /// Who may talk to the agent.
    pub sender_policy: SenderPolicy,
    /// Allowed sender ids.
    pub allowlist: &'a [String],
    /// The platform installation to fall back to, if any.
    pub fallback_installation_id: Option<&'a str>,
    /// The principal that made it.
    pub created_by: &'a str,
}

/// The statements that insert `row` and its allowlist (for one ledger batch). With
/// `if_absent`, a binding that already has this id is left as it is and senders already allowed
/// stay allowed (a claim repeated after its envelope was refused); otherwise either is a
/// conflict.
pub fn insert(
    db: &D1Database,
    row: &BindingRow<'_>,
    now: u64,
    if_absent: bool,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let on_conflict = if if_absent {
        " ON CONFLICT (id) DO NOTHING"
    } else {
        ""
    };
    let mut statements = vec![d1::statement(
        db,
        &format!(
            "INSERT INTO bindings (id, installation_id, agent_id, conversation_id, peer_id, team_id, \
             priority, sender_policy, fallback_installation_id, created_by, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11){on_conflict}"
        ),
        &[
            row.id.into(),
            row.installation_id.into(),
            row.agent_id.into(),
            row.selector.conversation.as_deref().into(),
            row.selector.peer.as_deref().into(),
            row.selector.team.as_deref().into(),
            row.priority.into(),
            row.sender_policy.as_str().into(),
            row.fallback_installation_id.into(),
            row.created_by.into(),
            now.into(),
        ],
    )?];
    for sender in row.allowlist {
        statements.push(allow(db, row.id, sender, row.created_by, now, if_absent)?);
    }
    Ok(statements)
}

/// The statement that allows `sender` on binding `binding_id`, by `created_by`. Without
/// `if_absent`, a sender already allowed is a conflict.
pub fn allow(
    db: &D1Database,
    binding_id: &str,
    sender: &str,
    created_by: &str,
    now: u64,
    if_absent: bool,
) -> Result<D1PreparedStatement, ApiError> {
    let on_conflict = if if_absent {
        " ON CONFLICT (binding_id, sender_id) DO NOTHING"
    } else {
        ""
    };
    d1::statement(
        db,
        &format!(
            "INSERT INTO allowlist_entries (binding_id, sender_id, created_by, created_at) \
             VALUES (?1, ?2, ?3, ?4){on_conflict}"
        ),
        &[
            binding_id.into(),
            sender.into(),
            created_by.into(),
            now.into(),
        ],
    )
}

/// Whether `sender` is on binding `binding_id`'s allowlist.
pub async fn is_allowed(db: &D1Database, binding_id: &str, sender: &str) -> Result<bool, ApiError> {
    let listed: Option<Value> = d1::first(
        db,
        "SELECT sender_id FROM allowlist_entries WHERE binding_id = ?1 AND sender_id = ?2",
        &[binding_id.into(), sender.into()],
    )
    .await?;
    Ok(listed.is_some())
}

/// The statement that takes `sender` off binding `binding_id`'s allowlist.
pub fn disallow(
    db: &D1Database,
    binding_id: &str,
    sender: &str,
) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "DELETE FROM allowlist_entries WHERE binding_id = ?1 AND sender_id = ?2",
        &[binding_id.into(), sender.into()],
    )
}

/// The sender ids on a binding's allowlist, in order.
pub async fn allowlist_of(db: &D1Database, binding_id: &str) -> Result<Value, ApiError> {
    let rows = d1::rows(
        db,
        "SELECT sender_id FROM allowlist_entries WHERE binding_id = ?1 ORDER BY sender_id",
        &[binding_id.into()],
    )
    .await?;
    Ok(Value::Array(
        rows.into_iter()
            .map(|row| json::at(&row, "/sender_id").clone())
            .collect(),
    ))
}
