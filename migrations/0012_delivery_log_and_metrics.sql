-- The delivery log (GET /v1/deliveries): one row per envelope the queue consumer has seen, written
-- at the end of each queue batch (never on the webhook path), and one row per delivery attempt.
-- Message content is not in the log: `content` holds the sealed queue message (AES-256-GCM, as
-- every secret-bearing value) only while it may be sent again, a dead letter for
-- DEAD_LETTER_RETENTION_SECONDS, a delivered envelope for DELIVERY_REPLAY_SECONDS; housekeeping
-- clears it after `content_expires_at` and deletes the row after `expires_at`
-- (DELIVERY_LOG_RETENTION_SECONDS).
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

CREATE INDEX deliveries_provider_event ON deliveries (provider_event_id);
CREATE INDEX deliveries_status ON deliveries (status, seq);
CREATE INDEX deliveries_installation ON deliveries (installation_id, seq);
CREATE INDEX deliveries_expires_at ON deliveries (expires_at);
CREATE INDEX deliveries_content_expires_at ON deliveries (content_expires_at)
  WHERE content_expires_at IS NOT NULL;

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

-- Counters for GET /v1/metrics: they only ever increase (never purged), one row per metric,
-- provider and label value (a reason, an outcome or a histogram bucket). No per-installation
-- label: the label sets are fixed and small.
CREATE TABLE metrics (
  name     TEXT    NOT NULL,
  provider TEXT    NOT NULL,
  label    TEXT    NOT NULL,
  value    INTEGER NOT NULL,
  PRIMARY KEY (name, provider, label)
) STRICT, WITHOUT ROWID;
