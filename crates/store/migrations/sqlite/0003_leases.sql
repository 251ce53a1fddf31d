-- Leases, SQLite flavour. Kept in step with ../postgres/0003_leases.sql.
-- One row per lease; `token` grows by one at every change of holder and fences the
-- holder's writes (Store::update_fenced).
CREATE TABLE leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    token      INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
