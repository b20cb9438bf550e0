-- Install tokens (core::install_token): the grant stored when a token is minted, claimed once.
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
  claimed_by  TEXT,                 -- the claiming sender's id
  CHECK ((claimed_at IS NULL) = (claim_event IS NULL))
) STRICT;

CREATE INDEX install_tokens_expires_at ON install_tokens (expires_at);

-- Platform identities linked to a subject by a claim: who a sender of an installation is.
CREATE TABLE identities (
  installation_id TEXT    NOT NULL REFERENCES installations (id),
  sender_id       TEXT    NOT NULL,
  org_id          TEXT    NOT NULL REFERENCES orgs (id),
  subject         TEXT    NOT NULL,
  grant_id        TEXT    NOT NULL REFERENCES install_tokens (id),
  linked_at       INTEGER NOT NULL,
  PRIMARY KEY (installation_id, sender_id)
) STRICT;
