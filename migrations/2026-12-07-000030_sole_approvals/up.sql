-- Refunds and payouts one admin approved alone: what one admin moves alone
-- in a group (one payment's refunds, one instructor's payouts) within the
-- two-admin window adds up against the threshold.
CREATE TABLE sole_approvals (
    object_id TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    admin_id BIGINT NOT NULL,
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
    approved_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sole_approvals_by_group ON sole_approvals (group_key, admin_id, approved_at);
