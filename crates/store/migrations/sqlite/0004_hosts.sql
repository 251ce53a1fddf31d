-- Device hosts and their agent tokens, sqlite flavour. Kept in step with ../postgres/0004_hosts.sql.
-- A host is a machine running `farmhand agent` with the devices it declared; only the
-- hash of a token's secret is kept, so the database cannot be used to impersonate a host.
CREATE TABLE hosts (
    name         TEXT    NOT NULL PRIMARY KEY,
    created_ms   INTEGER  NOT NULL,
    -- The last heartbeat, by the server's clock: what a lost host is billed up to.
    last_seen_ms INTEGER,
    -- The replica holding the host's connection; NULL while it is disconnected.
    connected_to TEXT,
    -- JSON array of the devices the host declared when it last connected.
    devices      TEXT    NOT NULL
);
CREATE TABLE agent_tokens (
    token_id    TEXT    NOT NULL PRIMARY KEY,
    secret_hash TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    created_ms  INTEGER  NOT NULL,
    revoked_ms  INTEGER
);
