-- Desktop browser (TestGrid) sessions are billed in the ledger too, as browser minutes:
-- a third billing method beside the two of device time. Kept in step with
-- ../sqlite/0005_browser_minutes.sql.
ALTER TABLE billing_ledger DROP CONSTRAINT billing_ledger_billing_method_check;
ALTER TABLE billing_ledger ADD CONSTRAINT billing_ledger_billing_method_check
    CHECK (billing_method IN ('METERED', 'UNMETERED', 'BROWSER'));
