DROP TABLE console_audit_log;
DROP FUNCTION console_audit_log_is_append_only();
DROP TABLE console_sessions;
DROP TABLE console_sign_in_links;
