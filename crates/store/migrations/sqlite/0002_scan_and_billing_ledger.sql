-- Cross-account scans and the billing ledger, SQLite flavour. Kept in step with
-- ../postgres/0002_scan_and_billing_ledger.sql.

-- Serves Store::scan: the engine's global FIFO by status, across accounts.
CREATE INDEX resources_by_status ON resources (kind, status, created_ms, arn);

-- One row per settled job; the primary key is what makes billing happen at most once.
-- Rows are only ever inserted.
CREATE TABLE billing_ledger (
    job_arn        TEXT    NOT NULL PRIMARY KEY,
    account_id     TEXT    NOT NULL,
    project_arn    TEXT    NOT NULL,
    run_arn        TEXT    NOT NULL,
    device_arn     TEXT    NOT NULL,
    device_name    TEXT    NOT NULL,
    platform       TEXT    NOT NULL,
    billing_method TEXT    NOT NULL CHECK (billing_method IN ('METERED', 'UNMETERED')),
    seconds        INTEGER NOT NULL CHECK (seconds >= 0),
    started_ms     INTEGER NOT NULL,
    settled_ms     INTEGER NOT NULL
);
-- Reports (per account or for everyone, by period) and the per-account metered sum.
CREATE INDEX billing_ledger_by_account ON billing_ledger (account_id, settled_ms, job_arn);
CREATE INDEX billing_ledger_by_time ON billing_ledger (settled_ms, job_arn);
