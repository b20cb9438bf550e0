//! A caller's restriction ([`crate::core::authority::Restriction`]) as SQL: the conditions that
//! keep each admin query to the orgs and agents the caller reaches. Lists and single reads use
//! the same condition, so an object out of reach is missing from lists and answers 404 when
//! named, and its id cannot be probed. An unrestricted caller gets no condition at all.
//!
//! Ids are bound as one JSON array per set (`json_each`), so a condition has one argument
//! however many ids the restriction names.

use crate::core::authority::Restriction;
use crate::core::route::Resource;
use crate::edge::store::d1::Arg;
use std::collections::BTreeSet;

/// The condition on `resource`'s rows (`" AND …"`, or empty when nothing is restricted); its
/// arguments are appended to `args` and numbered after those already there.
pub fn condition(resource: Resource, restriction: &Restriction, args: &mut Vec<Arg>) -> String {
    let orgs = restriction.org_ids.as_ref();
    let agents = restriction.agent_ids.as_ref();
    let parts: Vec<String> = match resource {
        Resource::Principals => [("org_ids", orgs), ("agent_ids", agents)]
            .into_iter()
            .filter_map(|(column, ids)| Some(within(column, ids?, args)))
            .collect(),
        Resource::Orgs => return owned("id", None, restriction, args),
        // Platform profiles (no org) are readable by everyone; changing them is refused in code.
        Resource::AppProfiles => orgs
            .map(|ids| format!("(org_id IS NULL OR {})", in_set("org_id", ids, args)))
            .into_iter()
            .collect(),
        Resource::Installations => return owned("org_id", None, restriction, args),
        Resource::Bindings => [
            orgs.map(|ids| {
                format!(
                    "installation_id IN (SELECT id FROM installations WHERE {})",
                    in_set("org_id", ids, args)
                )
            }),
            agents.map(|ids| in_set("agent_id", ids, args)),
        ]
        .into_iter()
        .flatten()
        .collect(),
    };
    parts.iter().map(|part| format!(" AND {part}")).collect()
}

/// The condition on rows that carry their org in `org_column` and, if `agent_column` is given,
/// their agent there (binding sessions, audit entries, installations).
pub fn owned(
    org_column: &str,
    agent_column: Option<&str>,
    restriction: &Restriction,
    args: &mut Vec<Arg>,
) -> String {
    let mut condition = String::new();
    if let Some(ids) = &restriction.org_ids {
        condition.push_str(&format!(" AND {}", in_set(org_column, ids, args)));
    }
    if let (Some(column), Some(ids)) = (agent_column, &restriction.agent_ids) {
        condition.push_str(&format!(" AND {}", in_set(column, ids, args)));
    }
    condition
}

/// `column IN (ids)`.
fn in_set(column: &str, ids: &BTreeSet<String>, args: &mut Vec<Arg>) -> String {
    args.push(serde_json::json!(ids).to_string().into());
    format!("{column} IN (SELECT value FROM json_each(?{}))", args.len())
}

/// A principal's restriction `column` (a JSON array, NULL for "all") is within `ids`: it is
/// restricted, and to nothing outside `ids` (the SQL form of `Restriction::within`).
fn within(column: &str, ids: &BTreeSet<String>, args: &mut Vec<Arg>) -> String {
    args.push(serde_json::json!(ids).to_string().into());
    format!(
        "({column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM json_each({column}) \
         WHERE value NOT IN (SELECT value FROM json_each(?{}))))",
        args.len()
    )
}
