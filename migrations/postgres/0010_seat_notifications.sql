-- Seat changes announced to every server process on this database.
--
-- A trigger sends NOTIFY on channel `ticketctl_seats` in the same transaction
-- as the change, so a listener hears of it exactly when it commits (and never
-- of a change rolled back). Every `serve` process LISTENs and patches its
-- availability snapshot and wakes its live seat streams at once, instead of
-- polling the database (store/postgres/seat_feed.rs).
--
-- Payloads:
--   '<trip_id> <seat_id> <taken>'  a seat's mask of taken segments is now <taken>
--   '<trip_id>'                    a hold or order of the trip changed status
--                                  (a seat map shows held and sold seats apart)
-- Postgres folds identical payloads of one transaction into one notification.

CREATE FUNCTION ticketctl_notify_seat() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ticketctl_seats', NEW.trip_id || ' ' || NEW.id || ' ' || NEW.taken);
    RETURN NULL;
END $$;

CREATE FUNCTION ticketctl_notify_trip() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ticketctl_seats', NEW.trip_id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER seats_taken_notify AFTER UPDATE OF taken ON seats
    FOR EACH ROW WHEN (OLD.taken IS DISTINCT FROM NEW.taken)
    EXECUTE FUNCTION ticketctl_notify_seat();

CREATE TRIGGER holds_status_notify AFTER UPDATE OF status ON holds
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION ticketctl_notify_trip();

CREATE TRIGGER orders_status_notify AFTER INSERT OR UPDATE OF status ON orders
    FOR EACH ROW EXECUTE FUNCTION ticketctl_notify_trip();
