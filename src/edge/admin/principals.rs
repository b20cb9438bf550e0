//! `/v1/principals`: create, rotate key. (List, get and revoke are in [`super::collection`].)

use super::{collection, Call, Reply};
use crate::core::admin::{parse, NewPrincipal, RotateKey};
use crate::core::api_error::ApiError;
use crate::core::route::Resource;
use crate::edge::{d1, ledger, runtime};
use serde_json::json;

/// `POST /v1/principals`: the caller can only grant scopes its own token holds.
pub async fn create(call: &Call<'_>) -> Result<Reply, ApiError> {
    let body: NewPrincipal = parse(&call.body)?;
    let scopes = body.validate(&call.caller.scopes, call.now)?;
    let id = runtime::new_id("prn");
    let event = call
        .event("principal.create", &id)
        .with_detail(json!({ "name": body.name, "scopes": scopes.to_string() }));
    ledger::commit(call.db, &event, call.now, || {
        Ok(vec![d1::statement(
            call.db,
            "INSERT INTO principals (id, name, public_key, scopes, expires_at, created_by, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            &[
                (&id).into(),
                (&body.name).into(),
                (&body.public_key).into(),
                scopes.to_string().into(),
                body.expires_at.into(),
                (&call.caller.principal_id).into(),
                call.now.into(),
            ],
        )?])
    })
    .await?;
    Ok((
        201,
        collection::view(call.db, Resource::Principals, &id, call.now).await?,
    ))
}

/// `POST /v1/principals/{id}/rotate`: replaces the public key; tokens of the old key stop working.
pub async fn rotate(call: &Call<'_>, id: &str) -> Result<Reply, ApiError> {
    let body: RotateKey = parse(&call.body)?;
    body.validate()?;
    collection::find_active(call.db, Resource::Principals, id).await?;
    let event = call.event("principal.rotate", id);
    ledger::commit(call.db, &event, call.now, || {
        Ok(vec![d1::statement(
            call.db,
            "UPDATE principals SET public_key = ?2, updated_at = ?3 WHERE id = ?1",
            &[id.into(), (&body.public_key).into(), call.now.into()],
        )?])
    })
    .await?;
    Ok((
        200,
        collection::view(call.db, Resource::Principals, id, call.now).await?,
    ))
}
