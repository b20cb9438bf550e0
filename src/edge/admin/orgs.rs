//! `/v1/orgs`: create. (List, get and revoke are in [`super::collection`].)
//!
//! A principal restricted to orgs cannot create one: the new org would be out of its reach.

use super::{collection, Call, Reply};
use crate::core::admin::{parse, NewOrg};
use crate::core::api_error::ApiError;
use crate::core::authority;
use crate::core::route::Resource;
use crate::edge::runtime;
use crate::edge::store::ledger;
use crate::edge::store::tenancy::insert_org;
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
        Ok(vec![insert_org(call.db, &id, &body.name, call.now)?])
    })
    .await?;
    Ok((201, collection::view(call, Resource::Orgs, &id).await?))
}
