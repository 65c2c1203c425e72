-- The first admin approval of each refund or payout above the two-admin
-- threshold. One row per object: the primary key decides who was first.
CREATE TABLE second_approvals (
    object_id      text        PRIMARY KEY,
    first_admin_id bigint      NOT NULL,
    approved_at    timestamptz NOT NULL
);
