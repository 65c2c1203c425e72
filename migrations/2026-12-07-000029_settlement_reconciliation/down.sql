DROP TABLE settlement_discrepancies;
DROP TABLE settlement_payouts;
DROP TABLE settlement_lines;
ALTER TABLE ledger_journals DROP CONSTRAINT ledger_journals_settlement_has_no_subject;
ALTER TABLE ledger_journals DROP COLUMN settlement;
DROP TABLE settlement_runs;
