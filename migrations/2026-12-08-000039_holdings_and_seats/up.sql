-- One purchase per buyer and item, and event seats (docs/payments.md#one-purchase-per-buyer
-- and #event-seats).

-- An event may have a capacity (seats) and sell several tickets to one
-- buyer; a course is one per buyer, with no capacity.
ALTER TABLE catalog_items
    ADD COLUMN capacity integer CHECK (capacity IS NULL OR (kind = 'event' AND capacity >= 0)),
    ADD COLUMN tickets_per_buyer integer NOT NULL DEFAULT 1
        CHECK (tickets_per_buyer BETWEEN 1 AND 100 AND (kind = 'event' OR tickets_per_buyer = 1));

-- Tickets bought in one payment, and whether the payment is its buyer's
-- one holding of its item (a course, or an event of one ticket per buyer).
-- Payments made before are not: the rule holds from now on.
ALTER TABLE payments
    ADD COLUMN quantity integer NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 100),
    ADD COLUMN one_per_buyer boolean NOT NULL DEFAULT false;

-- A buyer holds an item while a payment for it is open or paid and not
-- wholly refunded; one such payment per buyer, item and mode. A second
-- purchase waits for the first one's transaction and then finds it.
CREATE UNIQUE INDEX payments_one_per_buyer_idx
    ON payments (user_id, COALESCE(course_id, 0), COALESCE(event_id, 0), livemode)
    WHERE one_per_buyer
      AND status IN ('pending', 'processing', 'completed', 'partially_refunded', 'disputed', 'in_review');

-- A buyer's payments for an event, for the tickets-per-buyer count.
CREATE INDEX payments_buyer_event_idx ON payments (user_id, event_id) WHERE event_id IS NOT NULL;

-- The free seats of an event with a capacity, spread over a few rows so
-- that purchases of an event that is not near full do not queue on one
-- row; their sum is the seats left.
CREATE TABLE event_seats (
    event_id bigint   NOT NULL,
    shard    smallint NOT NULL CHECK (shard >= 0),
    free     integer  NOT NULL CHECK (free >= 0),
    PRIMARY KEY (event_id, shard)
);

-- The seats a payment holds, and on which rows: given back where they
-- were taken when the payment fails, is cancelled, expires or is refunded.
CREATE TABLE seat_holds (
    payment_id uuid     NOT NULL REFERENCES payments (id),
    event_id   bigint   NOT NULL,
    shard      smallint NOT NULL,
    seats      integer  NOT NULL CHECK (seats > 0),
    PRIMARY KEY (payment_id, shard)
);
CREATE INDEX seat_holds_event_idx ON seat_holds (event_id);
