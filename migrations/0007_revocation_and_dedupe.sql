-- A binding session claims the channel (app profile + tenant key) before it changes anything at
-- the provider (Telegram's setWebhook, WhatsApp's app subscription), so of two sessions binding
-- the same channel the loser stops before it can point the channel away from the winner. A claim
-- lives until its session ends (completed, failed, expired or cancelled) or, at the latest, its
-- session's expiry.
CREATE TABLE tenant_claims (
  app_profile_id TEXT    NOT NULL,
  tenant_key     TEXT    NOT NULL,
  session_id     TEXT    NOT NULL,
  expires_at     INTEGER NOT NULL,
  PRIMARY KEY (app_profile_id, tenant_key)
) STRICT;

CREATE INDEX tenant_claims_session ON tenant_claims (session_id);

-- Dedupe keys are claimed pending (committed = 0, a short expiry) and committed once the
-- envelope is queued, so a request that dies between claim and queue does not make the
-- provider's retry a "duplicate".
ALTER TABLE dedupe_keys ADD COLUMN committed INTEGER NOT NULL DEFAULT 1;
