//! `/v1/orgs`: create. (List, get and revoke are in [`super::collection`].)
//!
//! A principal restricted to orgs cannot create one: the new org would be out of its reach.

use super::{collection, Call, Reply};
use crate::core::admin::{parse, NewOrg};
use crate::core::api_error::ApiError;
use crate::core::authority;
use crate::core::route::Resource;
use crate::edge::{d1, ledger, runtime};
use serde_json::json;

/// `POST /v1/orgs`
pub async fn create(call: &Call<'_>) -> Result<Reply, ApiError> {
    let body: NewOrg = parse(&call.body)?;
    body.validate()?;
    authority::require_all_orgs(&call.caller)?;
    let id = runtime::new_id("org")?;
    let event = call
        .event("org.create", &id)
        .with_detail(json!({ "name": body.name }))
        .for_org(Some(&id));
    ledger::commit(call.db, &event, call.now, || {
        Ok(vec![d1::statement(
            call.db,
            "INSERT INTO orgs (id, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
            &[(&id).into(), (&body.name).into(), call.now.into()],
        )?])
    })
    .await?;
    Ok((201, collection::view(call, Resource::Orgs, &id).await?))
}
