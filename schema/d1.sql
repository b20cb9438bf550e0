-- The current full D1 schema: what migrations/ add up to. Generated, not edited: the e2e test
-- schema_file_is_the_migrated_schema compares it with a migrated database, and
-- `CHANNEL_EDGE_WRITE_SCHEMA=1 cargo test -p channel-edge-e2e -- schema_file` rewrites it.

CREATE TABLE allowlist_entries (
  binding_id TEXT    NOT NULL REFERENCES bindings (id),
  sender_id  TEXT    NOT NULL,
  created_by TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (binding_id, sender_id)
) STRICT;

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

CREATE TABLE audit_log (
  seq       INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  actor     TEXT    NOT NULL,
  action    TEXT    NOT NULL,
  target    TEXT    NOT NULL,
  detail    TEXT    NOT NULL,
  prev_hash TEXT    NOT NULL,
  hash      TEXT    NOT NULL
, org_id TEXT) STRICT;

CREATE INDEX audit_log_action ON audit_log (action, seq);

CREATE INDEX audit_log_org ON audit_log (org_id, seq) WHERE org_id IS NOT NULL;

CREATE INDEX audit_log_target ON audit_log (target, seq);

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
, agent_id TEXT) STRICT;

CREATE INDEX binding_sessions_status ON binding_sessions (status, created_at);

CREATE TABLE bindings (
  id                       TEXT    PRIMARY KEY,
  installation_id          TEXT    NOT NULL REFERENCES installations (id),
  agent_id                 TEXT    NOT NULL,
  conversation_id          TEXT,
  peer_id                  TEXT,
  team_id                  TEXT,
  priority                 INTEGER NOT NULL DEFAULT 0,
  sender_policy            TEXT    NOT NULL DEFAULT 'allowlist' CHECK (sender_policy IN ('allowlist', 'open')),
  fallback_installation_id TEXT    REFERENCES installations (id),
  status                   TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_by               TEXT    NOT NULL,
  created_at               INTEGER NOT NULL,
  updated_at               INTEGER NOT NULL
) STRICT;

CREATE INDEX bindings_installation ON bindings (installation_id) WHERE status = 'active';

CREATE TABLE dedupe_keys (
  key        TEXT    PRIMARY KEY,
  expires_at INTEGER NOT NULL
, committed INTEGER NOT NULL DEFAULT 1, owner TEXT) STRICT;

CREATE INDEX dedupe_keys_expires_at ON dedupe_keys (expires_at);

CREATE TABLE deliveries (
  seq                INTEGER PRIMARY KEY,  -- newest first is seq DESC; the list's cursor
  envelope_id        TEXT    NOT NULL UNIQUE,
  org_id             TEXT    NOT NULL,
  provider           TEXT    NOT NULL,
  installation_id    TEXT    NOT NULL,
  binding_id         TEXT    NOT NULL,
  agent_id           TEXT    NOT NULL,
  provider_event_id  TEXT    NOT NULL,
  status             TEXT    NOT NULL CHECK (status IN
                       ('queued', 'held', 'retrying', 'delivered', 'dead_lettered', 'dropped')),
  accepted_at        INTEGER NOT NULL,      -- the envelope's received_at (Unix seconds)
  updated_at         INTEGER NOT NULL,
  attempts           INTEGER NOT NULL DEFAULT 0,
  delivered_at       INTEGER,
  last_status        INTEGER,               -- the runtime's HTTP status; 0 when it did not answer
  last_reason        TEXT,                  -- runtime_refused, unreachable, unsigned, or a drop's reason
  content            TEXT,                  -- sealed queue message, while it can be re-driven or replayed
  content_expires_at INTEGER,
  expires_at         INTEGER NOT NULL
) STRICT;

CREATE INDEX deliveries_content_expires_at ON deliveries (content_expires_at)
  WHERE content_expires_at IS NOT NULL;

CREATE INDEX deliveries_expires_at ON deliveries (expires_at);

CREATE INDEX deliveries_installation ON deliveries (installation_id, seq);

CREATE INDEX deliveries_provider_event ON deliveries (provider_event_id);

CREATE INDEX deliveries_status ON deliveries (status, seq);

CREATE TABLE delivery_attempts (
  envelope_id TEXT    NOT NULL,
  at          INTEGER NOT NULL,  -- Unix seconds
  kind        TEXT    NOT NULL CHECK (kind IN ('delivery', 'redrive', 'replay')),
  status      INTEGER NOT NULL,  -- the runtime's HTTP status; 0 when it did not answer
  reason      TEXT,
  latency_ms  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX delivery_attempts_envelope ON delivery_attempts (envelope_id, at);

CREATE INDEX delivery_attempts_expires_at ON delivery_attempts (expires_at);

CREATE TABLE identities (
  installation_id TEXT    NOT NULL REFERENCES installations (id),
  sender_id       TEXT    NOT NULL,
  org_id          TEXT    NOT NULL REFERENCES orgs (id),
  subject         TEXT    NOT NULL,
  grant_id        TEXT    NOT NULL REFERENCES install_tokens (id),
  linked_at       INTEGER NOT NULL,
  PRIMARY KEY (installation_id, sender_id)
) STRICT;

CREATE TABLE install_tokens (
  id          TEXT    PRIMARY KEY,  -- ist_ + the token id in hex
  org_id      TEXT    NOT NULL REFERENCES orgs (id),
  agent_id    TEXT    NOT NULL,     -- the agent to install
  subject     TEXT    NOT NULL,     -- the user the install is for
  provider    TEXT,                 -- the only provider it may be claimed through, if any
  key_id      TEXT    NOT NULL,     -- the master key it was made under
  created_by  TEXT    NOT NULL,     -- the principal that minted it
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  claimed_at  INTEGER,
  claim_event TEXT,                 -- "<installation id>:<provider event id>" of the claiming message
  claimed_by  TEXT, binding_session_id TEXT,                 -- the claiming sender's id
  CHECK ((claimed_at IS NULL) = (claim_event IS NULL))
) STRICT;

CREATE INDEX install_tokens_expires_at ON install_tokens (expires_at);

CREATE TABLE installations (
  id             TEXT    PRIMARY KEY,
  app_profile_id TEXT    NOT NULL REFERENCES app_profiles (id),
  org_id         TEXT    NOT NULL REFERENCES orgs (id),
  tenant_key     TEXT    NOT NULL,
  metadata       TEXT    NOT NULL DEFAULT '{}', -- JSON: non-secret provider facts (e.g. WABA id)
  status         TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX installations_active_tenant
  ON installations (app_profile_id, tenant_key) WHERE status = 'active';

CREATE TABLE key_sets (
  name       TEXT    PRIMARY KEY,  -- botframework, google_chat, google_oidc
  body       TEXT    NOT NULL,     -- the JWKS document as fetched
  fetched_at INTEGER NOT NULL,     -- Unix seconds
  expires_at INTEGER NOT NULL      -- Unix seconds
) STRICT;

CREATE TABLE message_attempts (
  message_id TEXT    NOT NULL,
  at         INTEGER NOT NULL,  -- Unix seconds
  op         TEXT    NOT NULL CHECK (op IN ('send', 'edit', 'delete')),
  status     INTEGER NOT NULL,  -- the provider's HTTP status; 0 when it did not answer
  outcome    TEXT    NOT NULL,  -- done, rate_limited, retry, timed_out, or the failure's code
  latency_ms INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX message_attempts_expires_at ON message_attempts (expires_at);

CREATE INDEX message_attempts_message ON message_attempts (message_id, at);

CREATE TABLE messages (
  id                   TEXT    PRIMARY KEY,
  org_id               TEXT    NOT NULL,
  agent_id             TEXT    NOT NULL,
  installation_id      TEXT    NOT NULL,
  binding_id           TEXT    NOT NULL,
  provider             TEXT    NOT NULL,
  conversation_id      TEXT    NOT NULL,
  thread_id            TEXT,
  status               TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN
                         ('queued', 'sent', 'failed', 'unknown', 'dead_lettered', 'deleted')),
  final                INTEGER NOT NULL DEFAULT 1,
  provider_message_ids TEXT    NOT NULL DEFAULT '[]', -- JSON array, in order
  attempts             INTEGER NOT NULL DEFAULT 0,
  failure_code         TEXT,
  failure_reason       TEXT,
  idempotency_key      TEXT,                          -- cleared after 24 hours
  created_by           TEXT    NOT NULL,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  expires_at           INTEGER NOT NULL               -- housekeeping deletes receipts after 30 days
) STRICT;

CREATE INDEX messages_created_at ON messages (created_at);

CREATE INDEX messages_expires_at ON messages (expires_at);

CREATE UNIQUE INDEX messages_idempotency ON messages (agent_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

CREATE TABLE metrics (
  name     TEXT    NOT NULL,
  provider TEXT    NOT NULL,
  label    TEXT    NOT NULL,
  value    INTEGER NOT NULL,
  PRIMARY KEY (name, provider, label)
) STRICT, WITHOUT ROWID;

CREATE TABLE orgs (
  id         TEXT    PRIMARY KEY,
  name       TEXT    NOT NULL,
  status     TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE outbound_drops (
  target     TEXT    PRIMARY KEY, -- "installation:<id>" or "binding:<id>"
  count      INTEGER NOT NULL,
  first_at   INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE principals (
  id         TEXT    PRIMARY KEY,
  name       TEXT    NOT NULL,
  public_key TEXT    NOT NULL, -- base64url, 32 bytes (a JWK "x")
  scopes     TEXT    NOT NULL, -- space-separated
  status     TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  expires_at INTEGER,
  created_by TEXT,             -- the principal that created it; NULL for the seeded root
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
, org_ids TEXT, agent_ids TEXT) STRICT;

CREATE TABLE rollout_flags (
  key            TEXT    PRIMARY KEY,
  stage          TEXT    NOT NULL CHECK (stage IN ('off', 'canary', 'on')),
  canary_org_ids TEXT    NOT NULL DEFAULT '[]', -- JSON array of org ids
  reason         TEXT,
  updated_by     TEXT    NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE secrets (
  id          TEXT    PRIMARY KEY,
  owner_table TEXT    NOT NULL CHECK (owner_table IN ('app_profiles', 'installations')),
  owner_id    TEXT    NOT NULL,
  name        TEXT    NOT NULL,
  sealed      TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER
) STRICT;

CREATE INDEX secrets_owner ON secrets (owner_id, name);

CREATE TABLE tenant_claims (
  app_profile_id TEXT    NOT NULL,
  tenant_key     TEXT    NOT NULL,
  session_id     TEXT    NOT NULL,
  expires_at     INTEGER NOT NULL,
  PRIMARY KEY (app_profile_id, tenant_key)
) STRICT;

CREATE INDEX tenant_claims_session ON tenant_claims (session_id);

CREATE TABLE webhook_rejections (
  source     TEXT    NOT NULL, -- "<provider>:<path id> ip:<client ip>"
  reason     TEXT    NOT NULL, -- a core::ingress::Rejection code or a drop reason
  minute     INTEGER NOT NULL, -- Unix time / 60
  count      INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, -- housekeeping deletes counters after 30 days
  PRIMARY KEY (source, reason, minute)
) STRICT;

CREATE INDEX webhook_rejections_expires_at ON webhook_rejections (expires_at);
