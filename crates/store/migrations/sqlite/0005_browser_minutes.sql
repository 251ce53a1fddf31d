-- Desktop browser (TestGrid) sessions are billed in the ledger too, as browser minutes:
-- a third billing method beside the two of device time. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with its rows and indexes. Kept in step with
-- ../postgres/0005_browser_minutes.sql.
CREATE TABLE billing_ledger_new (
    job_arn        TEXT    NOT NULL PRIMARY KEY,
    account_id     TEXT    NOT NULL,
    project_arn    TEXT    NOT NULL,
    run_arn        TEXT    NOT NULL,
    device_arn     TEXT    NOT NULL,
    device_name    TEXT    NOT NULL,
    platform       TEXT    NOT NULL,
    billing_method TEXT    NOT NULL CHECK (billing_method IN ('METERED', 'UNMETERED', 'BROWSER')),
    seconds        INTEGER NOT NULL CHECK (seconds >= 0),
    started_ms     INTEGER NOT NULL,
    settled_ms     INTEGER NOT NULL
);
INSERT INTO billing_ledger_new SELECT * FROM billing_ledger;
DROP TABLE billing_ledger;
ALTER TABLE billing_ledger_new RENAME TO billing_ledger;
CREATE INDEX billing_ledger_by_account ON billing_ledger (account_id, settled_ms, job_arn);
CREATE INDEX billing_ledger_by_time ON billing_ledger (settled_ms, job_arn);
