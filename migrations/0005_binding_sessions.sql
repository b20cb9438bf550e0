-- Binding sessions: each lives in its own Durable Object (the source of truth, with its
-- history); this table mirrors their status so they can be listed.
CREATE TABLE binding_sessions (
  id              TEXT    PRIMARY KEY,  -- bss_…
  org_id          TEXT    NOT NULL REFERENCES orgs (id),
  app_profile_id  TEXT    NOT NULL REFERENCES app_profiles (id),
  provider        TEXT    NOT NULL,
  method          TEXT    NOT NULL CHECK (method IN ('token', 'oauth', 'qr')),
  status          TEXT    NOT NULL,
  created_by      TEXT    NOT NULL,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX binding_sessions_status ON binding_sessions (status, created_at);

-- A qr session's install token: its claim completes that session.
ALTER TABLE install_tokens ADD COLUMN binding_session_id TEXT;
