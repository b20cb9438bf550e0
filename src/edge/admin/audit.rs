//! `/v1/audit`: read the ledger, and verify its hash chain.

use super::{reach, Call, Reply};
use crate::core::admin::ListQuery;
use crate::core::api_error::ApiError;
use crate::core::audit::{self, Entry};
use crate::core::authority;
use crate::edge::d1::{self, Arg};
use serde_json::{json, Value};

const COLUMNS: &str = "seq, at, actor, action, target, detail, prev_hash, hash, org_id";
/// Entries read per round trip while verifying.
const VERIFY_PAGE: i64 = 500;

/// `GET /v1/audit?limit=&cursor=<seq>`: entries in order, `detail` as an object; for a principal
/// restricted to orgs, only the entries about those orgs.
pub async fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let page = ListQuery::parse(&[], call.query_pairs())?.page;
    let after: i64 = match &page.cursor {
        Some(cursor) => cursor.parse().map_err(|_| ApiError::BadRequest {
            message: "cursor must be the next_cursor of a previous page".into(),
        })?,
        None => 0,
    };
    let mut args: Vec<Arg> = vec![after.into(), i64::from(page.limit + 1).into()];
    let reach = reach::owned("org_id", None, &call.caller.restriction, &mut args);
    let sql =
        format!("SELECT {COLUMNS} FROM audit_log WHERE seq > ?1{reach} ORDER BY seq LIMIT ?2");
    let mut entries: Vec<Entry> = d1::all(call.db, &sql, &args).await?;
    let next_cursor = if entries.len() > page.limit as usize {
        entries.truncate(page.limit as usize);
        entries.last().map(|entry| entry.seq.to_string())
    } else {
        None
    };
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
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    let mut previous: Option<Entry> = None;
    let mut checked: u64 = 0;
    loop {
        let after = previous.as_ref().map_or(0, |entry| entry.seq);
        let page: Vec<Entry> = d1::all(call.db, &sql, &[after.into(), VERIFY_PAGE.into()]).await?;
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
