-- An event endpoint receives the events of one mode: live money or test
-- money (docs/events.md). Endpoints from before received both; they become
-- live, because a live endpoint that misses test events loses nothing,
-- while a test endpoint would miss the events that create enrollments.
-- (A deployment that only ever took test money registers its endpoints
-- again with "livemode": false.) The service always names the mode, so
-- the default serves only the rows already there.
ALTER TABLE event_endpoints ADD COLUMN livemode boolean NOT NULL DEFAULT true;
ALTER TABLE event_endpoints ALTER COLUMN livemode DROP DEFAULT;

-- Deliveries still pending of an event of the other mode (a test payment's
-- event, routed to what is now a live endpoint) are never sent: dead, with
-- the reason, and a replay refuses them too. The event's mode is its
-- object's livemode, read as the routing statement reads it.
UPDATE event_deliveries d
SET status = 'dead', locked_until = NULL,
    last_error = 'not sent: the event is of another mode (live or test) than the endpoint'
FROM event_endpoints e, outbox_events o
WHERE d.status = 'pending' AND e.id = d.endpoint_id AND o.id = d.event_id
  -- (CASE: the cast is evaluated only for a real boolean.)
  AND CASE WHEN jsonb_typeof(o.payload -> 'livemode') = 'boolean'
           THEN (o.payload ->> 'livemode')::boolean <> e.livemode
           ELSE false END;
