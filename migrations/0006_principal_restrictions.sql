-- Principals restricted to some orgs and agents (core::authority). NULL: every org or agent;
-- otherwise a JSON array of ids. Read from the row only, never from a token.
ALTER TABLE principals ADD COLUMN org_ids TEXT;
ALTER TABLE principals ADD COLUMN agent_ids TEXT;

-- The org an audit entry concerns (NULL: none), so a restricted principal reads only its orgs'
-- entries. Part of the entry's hash when set (core::audit).
ALTER TABLE audit_log ADD COLUMN org_id TEXT;
CREATE INDEX audit_log_org ON audit_log (org_id, seq) WHERE org_id IS NOT NULL;

-- A binding session's agent, so agent-restricted principals see only their agents' sessions.
ALTER TABLE binding_sessions ADD COLUMN agent_id TEXT;
