ALTER TABLE contacts DROP COLUMN source;
