-- The provider of an app profile is text checked in code (core::tenancy::Provider, from the
-- provider registry), not by a SQL CHECK: adding a provider needs no table rebuild. This is the
-- last rebuild of app_profiles, to drop that CHECK.
--
-- installations and binding_sessions refer to app_profiles. With foreign keys deferred to the
-- end of this migration's transaction, the table is copied aside, dropped, made anew and
-- refilled: refilling it is what satisfies the referring rows again, so the transaction commits
-- with every row and every foreign key as it was.
PRAGMA defer_foreign_keys = on;

CREATE TABLE app_profiles_copy AS SELECT * FROM app_profiles;

DROP TABLE app_profiles;

CREATE TABLE app_profiles (
  id              TEXT    PRIMARY KEY,
  provider        TEXT    NOT NULL, -- a name in core::tenancy::Provider
  kind            TEXT    NOT NULL CHECK (kind IN ('platform', 'byoa')),
  org_id          TEXT    REFERENCES orgs (id),
  provider_app_id TEXT    NOT NULL,
  name            TEXT    NOT NULL,
  status          TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  CHECK ((kind = 'byoa') = (org_id IS NOT NULL))
) STRICT;

INSERT INTO app_profiles (id, provider, kind, org_id, provider_app_id, name, status, created_at, updated_at)
SELECT id, provider, kind, org_id, provider_app_id, name, status, created_at, updated_at
FROM app_profiles_copy;

DROP TABLE app_profiles_copy;
