DROP TABLE fraud_decisions;
DROP TABLE fraud_attempts;
DROP TABLE fraud_blocks;
DROP TABLE fraud_rules;
