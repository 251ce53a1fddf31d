-- farmhand schema, PostgreSQL flavour. Kept in step with ../sqlite/0001_init.sql: same tables,
-- columns and indexes; only the type names differ. Times are epoch milliseconds.
-- Keys that are sorted or range-compared use COLLATE "C" so the order is bytewise, as on
-- SQLite, whatever the database's locale.

CREATE TABLE accounts (
    id          TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    name        TEXT   NOT NULL,
    created_ms  BIGINT NOT NULL,
    settings    TEXT   NOT NULL -- JSON of domain::account::AccountSettings
);

CREATE TABLE access_keys (
    access_key_id     TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    secret_access_key TEXT   NOT NULL,
    account_id        TEXT   COLLATE "C" NOT NULL REFERENCES accounts (id),
    created_ms        BIGINT NOT NULL,
    revoked_ms        BIGINT
);
CREATE INDEX access_keys_by_account ON access_keys (account_id, created_ms);

-- Every Device Farm entity: a JSON body plus the columns that queries filter and sort on.
CREATE TABLE resources (
    arn         TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    account_id  TEXT   COLLATE "C" NOT NULL,
    kind        TEXT   COLLATE "C" NOT NULL,
    parent_arn  TEXT   COLLATE "C",
    name        TEXT   NOT NULL,
    status      TEXT   COLLATE "C",
    created_ms  BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    body        TEXT   NOT NULL
);
CREATE INDEX resources_by_kind ON resources (account_id, kind, created_ms, arn);
CREATE INDEX resources_by_parent ON resources (parent_arn, kind, created_ms, arn);

CREATE TABLE tags (
    arn       TEXT COLLATE "C" NOT NULL,
    tag_key   TEXT COLLATE "C" NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (arn, tag_key)
);

-- One row per tagged ARN, written first in every tag transaction: the row lock serialises
-- concurrent writers of the same ARN so the 50-tag limit holds under races.
CREATE TABLE tag_locks (
    arn TEXT COLLATE "C" NOT NULL PRIMARY KEY
);

CREATE TABLE secrets (
    name  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
