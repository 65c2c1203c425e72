-- Card rules and card slots have no meaning before this migration.
DELETE FROM fraud_attempts WHERE subject = 'card_fingerprint';
DELETE FROM fraud_rules WHERE subject = 'card_fingerprint';
ALTER TABLE fraud_attempts DROP CONSTRAINT fraud_attempts_subject_check;
ALTER TABLE fraud_attempts ADD CONSTRAINT fraud_attempts_subject_check
    CHECK (subject IN ('user', 'client_address', 'email'));
ALTER TABLE fraud_rules DROP CONSTRAINT fraud_rules_subject_check;
ALTER TABLE fraud_rules ADD CONSTRAINT fraud_rules_subject_check
    CHECK (subject IN ('user', 'client_address', 'email'));
