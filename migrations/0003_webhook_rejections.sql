-- 0003: aggregated webhook rejections.
--
-- A flood of bad requests must not become a flood of D1 writes or of audit entries: each
-- rejection (and each deliberately dropped event) increments one counter per source, reason and
-- minute, and only the first of each minute appends to the audit ledger.

CREATE TABLE webhook_rejections (
  source     TEXT    NOT NULL, -- "<provider>:<path id> ip:<client ip>"
  reason     TEXT    NOT NULL, -- a core::ingress::Rejection code or a drop reason
  minute     INTEGER NOT NULL, -- Unix time / 60
  count      INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, -- housekeeping deletes counters after 30 days
  PRIMARY KEY (source, reason, minute)
) STRICT;

CREATE INDEX webhook_rejections_expires_at ON webhook_rejections (expires_at);
