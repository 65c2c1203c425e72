-- Card rules: a card's fingerprint is counted when a payment is confirmed
-- with a card the gateway describes before charging it.
ALTER TABLE fraud_rules DROP CONSTRAINT fraud_rules_subject_check;
ALTER TABLE fraud_rules ADD CONSTRAINT fraud_rules_subject_check
    CHECK (subject IN ('user', 'client_address', 'email', 'card_fingerprint'));
ALTER TABLE fraud_attempts DROP CONSTRAINT fraud_attempts_subject_check;
ALTER TABLE fraud_attempts ADD CONSTRAINT fraud_attempts_subject_check
    CHECK (subject IN ('user', 'client_address', 'email', 'card_fingerprint'));
