-- Booking limits (issue 8): the client address a hold came from, so unexpired
-- holds can be capped per address as well as per account. Older holds have
-- none and count for no address.
ALTER TABLE holds ADD COLUMN client_addr TEXT;
CREATE INDEX holds_addr_status ON holds(client_addr, status);
-- Active holds per account are counted by user across trips.
CREATE INDEX holds_user_status ON holds(user_id, status);
