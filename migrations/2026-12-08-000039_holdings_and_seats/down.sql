DROP TABLE seat_holds;
DROP TABLE event_seats;
DROP INDEX payments_buyer_event_idx;
DROP INDEX payments_one_per_buyer_idx;
ALTER TABLE payments DROP COLUMN one_per_buyer, DROP COLUMN quantity;
ALTER TABLE catalog_items DROP COLUMN tickets_per_buyer, DROP COLUMN capacity;
