-- The dispute statuses are the domain's (domain::dispute::DisputeStatus):
-- `closed` was allowed here but is never written (a closed inquiry is
-- `warning_closed`). A test compares every such list with the domain's.
ALTER TABLE payment_disputes DROP CONSTRAINT payment_disputes_status_check;
ALTER TABLE payment_disputes ADD CONSTRAINT payment_disputes_status_check CHECK (status IN ('needs_response',
    'under_review', 'won', 'lost', 'warning_needs_response', 'warning_under_review', 'warning_closed'));
