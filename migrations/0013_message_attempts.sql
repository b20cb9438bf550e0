-- The outbound half of the delivery log: one row per provider call made for a message (send, edit,
-- delete), written by the conversation's Durable Object with the call's metrics. Read with the
-- message (GET /v1/messages/{id}, `attempts_log`); deleted with the receipts, after 30 days.
CREATE TABLE message_attempts (
  message_id TEXT    NOT NULL,
  at         INTEGER NOT NULL,  -- Unix seconds
  op         TEXT    NOT NULL CHECK (op IN ('send', 'edit', 'delete')),
  status     INTEGER NOT NULL,  -- the provider's HTTP status; 0 when it did not answer
  outcome    TEXT    NOT NULL,  -- done, rate_limited, retry, timed_out, or the failure's code
  latency_ms INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX message_attempts_message ON message_attempts (message_id, at);
CREATE INDEX message_attempts_expires_at ON message_attempts (expires_at);
CREATE INDEX messages_created_at ON messages (created_at);
