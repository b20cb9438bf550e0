//! Install-token grants (`install_tokens`) and the chat identities their claims link
//! (`identities`).

use super::d1;
use crate::core::api_error::ApiError;
use crate::core::install_token::Grant;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement};

/// A grant to insert.
pub struct GrantRow<'a> {
    /// Its id (the token's grant id).
    pub id: &'a str,
    /// The org.
    pub org_id: &'a str,
    /// The agent to install.
    pub agent_id: &'a str,
    /// The user it is for.
    pub subject: &'a str,
    /// The only provider it may be claimed through.
    pub provider: Option<&'a str>,
    /// The id of the key the token was signed with.
    pub key_id: &'a str,
    /// The principal that minted it.
    pub created_by: &'a str,
    /// Its expiry.
    pub expires_at: u64,
    /// The `qr` binding session its claim completes.
    pub binding_session_id: Option<&'a str>,
}

/// The statement that inserts `grant`.
pub fn insert(
    db: &D1Database,
    grant: &GrantRow<'_>,
    now: u64,
) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "INSERT INTO install_tokens (id, org_id, agent_id, subject, provider, key_id, \
         created_by, created_at, expires_at, binding_session_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        &[
            grant.id.into(),
            grant.org_id.into(),
            grant.agent_id.into(),
            grant.subject.into(),
            grant.provider.into(),
            grant.key_id.into(),
            grant.created_by.into(),
            now.into(),
            grant.expires_at.into(),
            grant.binding_session_id.into(),
        ],
    )
}

/// Grant `id`, if it exists.
pub async fn get(db: &D1Database, id: &str) -> Result<Option<Grant>, ApiError> {
    d1::first(
        db,
        "SELECT org_id, agent_id, subject, provider, expires_at, claim_event, created_by, \
         binding_session_id FROM install_tokens WHERE id = ?1",
        &[id.into()],
    )
    .await
}

/// Claims grant `id` for message `claim_event` by `sender`: one conditional update, so of two
/// concurrent claims exactly one succeeds. False when another message claimed it first.
pub async fn mark_claimed(
    db: &D1Database,
    id: &str,
    claim_event: &str,
    sender: &str,
    now: u64,
) -> Result<bool, ApiError> {
    let claimed: Option<Value> = d1::first(
        db,
        "UPDATE install_tokens SET claimed_at = ?1, claim_event = ?2, claimed_by = ?3 \
         WHERE id = ?4 AND claim_event IS NULL RETURNING id",
        &[now.into(), claim_event.into(), sender.into(), id.into()],
    )
    .await?;
    Ok(claimed.is_some())
}

/// A chat identity a claim links to a subject.
pub struct Identity<'a> {
    /// The installation the claim arrived through.
    pub installation_id: &'a str,
    /// The sender.
    pub sender_id: &'a str,
    /// The grant's org.
    pub org_id: &'a str,
    /// The grant's subject.
    pub subject: &'a str,
    /// The grant.
    pub grant_id: &'a str,
}

/// The statement that links `identity` (replacing an earlier link of the same sender).
pub fn link(
    db: &D1Database,
    identity: &Identity<'_>,
    now: u64,
) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "INSERT INTO identities (installation_id, sender_id, org_id, subject, grant_id, linked_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (installation_id, sender_id) DO UPDATE SET \
         org_id = excluded.org_id, subject = excluded.subject, grant_id = excluded.grant_id, \
         linked_at = excluded.linked_at",
        &[
            identity.installation_id.into(),
            identity.sender_id.into(),
            identity.org_id.into(),
            identity.subject.into(),
            identity.grant_id.into(),
            now.into(),
        ],
    )
}

/// The statement that ends binding session `session_id`'s unclaimed grant at `now`, so it
/// cannot be claimed after the session failed, expired or was cancelled.
pub fn expire_unclaimed_of_session(
    db: &D1Database,
    session_id: &str,
    now: u64,
) -> Result<D1PreparedStatement, ApiError> {
    d1::statement(
        db,
        "UPDATE install_tokens SET expires_at = MIN(expires_at, ?2) \
         WHERE binding_session_id = ?1 AND claim_event IS NULL",
        &[session_id.into(), now.into()],
    )
}
