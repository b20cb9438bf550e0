//! `/v1/audit`: read the ledger, and verify its hash chain.

use super::{Call, Reply};
use crate::core::admin::AuditQuery;
use crate::core::api_error::ApiError;
use crate::core::audit::{self, Entry};
use crate::core::authority;
use crate::edge::store::{self, ledger};
use serde_json::{json, Value};

/// Entries read per round trip while verifying.
const VERIFY_PAGE: u32 = 500;

/// `GET /v1/audit` ([`AuditQuery`]): entries newest first (or `order=asc`), filtered, `detail`
/// as an object; for a principal restricted to orgs, only the entries about those orgs.
pub async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let query = AuditQuery::parse(call.query_pairs())?;
    let entries = ledger::page(call.db, &query, &call.caller.restriction).await?;
    let (entries, next_cursor) =
        store::page(entries, query.limit, |entry| Some(entry.seq.to_string()));
    let items: Vec<Value> = entries.into_iter().map(present).collect();
    Ok((200, json!({ "items": items, "next_cursor": next_cursor })))
}

fn present(entry: Entry) -> Value {
    let detail: Value = serde_json::from_str(&entry.detail).unwrap_or(Value::Null);
    json!({
        "seq": entry.seq,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": detail,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "org_id": entry.org_id,
    })
}

/// `GET /v1/audit/verify`: recomputes the whole chain page by page; names the first broken entry.
/// The chain spans every org, so only an unrestricted principal may verify it.
pub async fn verify(call: &Call<'_>) -> Result<Reply, ApiError> {
    authority::require_unrestricted(&call.caller, "verifying the whole audit chain")?;
    let mut previous: Option<Entry> = None;
    let mut checked: u64 = 0;
    loop {
        let after = previous.as_ref().map_or(0, |entry| entry.seq);
        let page = ledger::entries(call.db, after, VERIFY_PAGE).await?;
        if let Err(broken) = audit::verify(previous.as_ref(), &page) {
            let verified = checked + broken.seq().saturating_sub(after + 1);
            return Ok((
                200,
                json!({
                    "valid": false,
                    "entries_verified": verified,
                    "first_broken_seq": broken.seq(),
                    "reason": broken.to_string(),
                }),
            ));
        }
        checked += page.len() as u64;
        match page.into_iter().last() {
            Some(last) => previous = Some(last),
            None => break,
        }
    }
    Ok((
        200,
        json!({
            "valid": true,
            "entries_verified": checked,
            "head": previous.map(|entry| json!({"seq": entry.seq, "hash": entry.hash})),
        }),
    ))
}
