//! Migrations applied to a database that already holds data, on a local D1 of their own.

use crate::Env;
use channel_edge_e2e::repo_root;
use channel_edge_e2e::wrangler::LocalD1;
use libtest_mimic::Failed;

tests![dropping_the_provider_check_keeps_every_row_and_foreign_key];

const PROVIDER_TEXT: &str = "0008_provider_text.sql";

/// The migrations before `last`, in order.
fn migrations_before(last: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("migrations"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql") && name.as_str() < last)
        .collect();
    names.sort();
    names
}

fn profile(id: &str, provider: &str) -> String {
    format!(
        "INSERT INTO app_profiles (id, provider, kind, org_id, provider_app_id, name, created_at, \
         updated_at) VALUES ('{id}', '{provider}', 'byoa', 'org_m', 'A1', 'n', 1, 1)"
    )
}

fn dropping_the_provider_check_keeps_every_row_and_foreign_key(_: &Env) -> Result<(), Failed> {
    let d1 = LocalD1::new()?;
    let before = migrations_before(PROVIDER_TEXT);
    d1.migrate(&before.iter().map(String::as_str).collect::<Vec<_>>())?;
    d1.execute(&format!(
        "INSERT INTO orgs (id, name, created_at, updated_at) VALUES ('org_m', 'm', 1, 1); \
         {}; {}; \
         INSERT INTO installations (id, app_profile_id, org_id, tenant_key, created_at, updated_at) \
         VALUES ('ins_m', 'app_slack', 'org_m', 'T1', 1, 1); \
         INSERT INTO bindings (id, installation_id, agent_id, created_by, created_at, updated_at) \
         VALUES ('bnd_m', 'ins_m', 'agent_m', 'prn_root', 1, 1); \
         INSERT INTO binding_sessions (id, org_id, app_profile_id, provider, method, status, \
         created_by, created_at, expires_at, updated_at) VALUES ('bss_m', 'org_m', 'app_tg', \
         'telegram', 'token', 'completed', 'prn_root', 1, 2, 1)",
        profile("app_slack", "slack"),
        profile("app_tg", "telegram"),
    ))?;
    assert!(
        d1.execute(&profile("app_new", "github")).is_err(),
        "before: the CHECK refuses a provider it does not list"
    );
    let rows = |d1: &LocalD1| -> Result<Vec<serde_json::Value>, Failed> {
        Ok(d1.query(
            "SELECT p.*, i.id AS installation, b.id AS binding FROM app_profiles p \
             LEFT JOIN installations i ON i.app_profile_id = p.id \
             LEFT JOIN bindings b ON b.installation_id = i.id ORDER BY p.id",
        )?)
    };
    let kept = rows(&d1)?;
    assert_eq!(kept.len(), 2);

    d1.migrate(&[PROVIDER_TEXT])?;
    assert_eq!(
        rows(&d1)?,
        kept,
        "every row, and what refers to it, is kept"
    );
    assert!(d1.query("PRAGMA foreign_key_check")?.is_empty());
    assert!(
        d1.execute(
            "INSERT INTO installations (id, app_profile_id, org_id, tenant_key, created_at, \
             updated_at) VALUES ('ins_x', 'app_missing', 'org_m', 'T2', 1, 1)"
        )
        .is_err(),
        "installations still refer to app_profiles"
    );
    assert!(
        d1.execute(&profile("app_byoa_without_org", "slack").replace("'org_m'", "NULL"))
            .is_err(),
        "the other CHECKs stay"
    );
    d1.execute(&profile("app_new", "github"))?;
    Ok(())
}
