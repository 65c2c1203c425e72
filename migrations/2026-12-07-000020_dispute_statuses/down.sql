ALTER TABLE payment_disputes DROP CONSTRAINT payment_disputes_status_check;
ALTER TABLE payment_disputes ADD CONSTRAINT payment_disputes_status_check CHECK (status IN ('needs_response',
    'under_review', 'won', 'lost', 'warning_needs_response', 'warning_under_review', 'warning_closed', 'closed'));
