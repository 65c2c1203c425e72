-- Delivering outbox events to the platform's endpoints (docs/events.md).
CREATE TABLE event_endpoints (
    id              uuid        PRIMARY KEY,
    url             text        NOT NULL CHECK (length(url) <= 2048),
    event_types     text[]      NOT NULL DEFAULT '{}',
    secret_sealed   bytea       NOT NULL,
    secret_key_id   text        NOT NULL,
    active          boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL
);

-- When an outbox event was routed to the endpoints of its moment.
ALTER TABLE outbox_events ADD COLUMN routed_at timestamptz;
CREATE INDEX outbox_events_unrouted_idx ON outbox_events (created_at, id) WHERE routed_at IS NULL;

CREATE TABLE event_deliveries (
    id                uuid        PRIMARY KEY,
    event_id          uuid        NOT NULL REFERENCES outbox_events (id),
    endpoint_id       uuid        NOT NULL REFERENCES event_endpoints (id),
    event_type        text        NOT NULL,
    aggregate_id      text        NOT NULL,
    event_created_at  timestamptz NOT NULL,
    status            text        NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts          integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   timestamptz NOT NULL,
    locked_until      timestamptz,
    first_attempt_at  timestamptz,
    last_status       integer,
    last_error        text,
    created_at        timestamptz NOT NULL,
    delivered_at      timestamptz,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX event_deliveries_due_idx ON event_deliveries (next_attempt_at) WHERE status = 'pending';
-- Per-object ordering: the earlier pending deliveries of the same object.
CREATE INDEX event_deliveries_object_idx ON event_deliveries (endpoint_id, aggregate_id, event_created_at, event_id)
    WHERE status = 'pending';
CREATE INDEX event_deliveries_created_idx ON event_deliveries (created_at, id);

CREATE TABLE event_delivery_attempts (
    id              bigserial   PRIMARY KEY,
    delivery_id     uuid        NOT NULL REFERENCES event_deliveries (id),
    attempted_at    timestamptz NOT NULL,
    response_status integer,
    error           text,
    duration_ms     bigint      NOT NULL
);
CREATE INDEX event_delivery_attempts_delivery_idx ON event_delivery_attempts (delivery_id, id);
