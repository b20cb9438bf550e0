-- Outbound messages: one receipt per message the agent runtime sent through channel-edge
-- (POST /v1/messages). The text itself lives only in the conversation's Durable Object while it
-- is being sent; a receipt never holds it.
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

CREATE UNIQUE INDEX messages_idempotency ON messages (agent_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_expires_at ON messages (expires_at);

-- Messages dropped from conversation queues because what they went through was revoked: one
-- counter per revoked installation or binding, whose first count writes the ledger entry.
CREATE TABLE outbound_drops (
  target     TEXT    PRIMARY KEY, -- "installation:<id>" or "binding:<id>"
  count      INTEGER NOT NULL,
  first_at   INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
