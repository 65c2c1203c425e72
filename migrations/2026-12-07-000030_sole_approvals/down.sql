DROP TABLE sole_approvals;
