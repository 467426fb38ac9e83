-- Booking limits (issue 8). Each limit is checked and recorded in one function
-- call (one transaction) after locking the limit's key, so requests arriving
-- together queue on the lock and each counts what the previous ones committed
-- (plpgsql statements take a fresh snapshot in READ COMMITTED).
--
-- The client address a hold came from, so unexpired holds can be capped per
-- address as well as per account. Older holds have none.
ALTER TABLE holds ADD COLUMN client_addr TEXT;
CREATE INDEX holds_addr_status ON holds(client_addr, status);
CREATE INDEX holds_user_status ON holds(user_id, status);

-- A hold within the caps: at most `p_per_account` unexpired holds of the user
-- and `p_per_address` from `p_addr` (NULL: no cap). A refusal is one row with
-- `cap` naming the cap, `cap_max` and `already`; otherwise the rows of
-- ticketctl_create_hold (migration 0004), and the hold records `p_addr`.
CREATE FUNCTION ticketctl_create_hold_capped(
    p_trip BIGINT, p_user BIGINT, p_from BIGINT, p_to BIGINT, p_mask BIGINT,
    p_class TEXT, p_fare BIGINT, p_seats BIGINT[], p_now BIGINT, p_expires BIGINT,
    p_max BIGINT, p_addr TEXT, p_per_account BIGINT, p_per_address BIGINT)
RETURNS TABLE (cap TEXT, cap_max BIGINT, hold_id BIGINT, already BIGINT, lost BIGINT[],
               id BIGINT, coach_seq BIGINT, coach_code TEXT, seat_no BIGINT, class TEXT,
               taken BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_count BIGINT;
    v_hold BIGINT;
    r RECORD;
BEGIN
    -- The user's row serialises this account's holds (ticketctl_create_hold
    -- takes it too; taking it first keeps one lock order: user, address, seats).
    PERFORM 1 FROM users u WHERE u.id = p_user FOR NO KEY UPDATE;
    IF p_addr IS NOT NULL AND p_per_address IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('ticketctl.holds-from.' || p_addr, 0));
    END IF;
    IF p_per_account IS NOT NULL THEN
        SELECT COUNT(*) INTO v_count FROM holds h
        WHERE h.user_id = p_user AND h.status = 'active' AND h.expires_at > p_now;
        IF v_count >= p_per_account THEN
            RETURN QUERY SELECT 'active_holds_per_account'::TEXT, p_per_account, NULL::BIGINT,
                v_count, NULL::BIGINT[], NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::BIGINT,
                NULL::TEXT, NULL::BIGINT;
            RETURN;
        END IF;
    END IF;
    IF p_addr IS NOT NULL AND p_per_address IS NOT NULL THEN
        SELECT COUNT(*) INTO v_count FROM holds h
        WHERE h.client_addr = p_addr AND h.status = 'active' AND h.expires_at > p_now;
        IF v_count >= p_per_address THEN
            RETURN QUERY SELECT 'active_holds_per_address'::TEXT, p_per_address, NULL::BIGINT,
                v_count, NULL::BIGINT[], NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::BIGINT,
                NULL::TEXT, NULL::BIGINT;
            RETURN;
        END IF;
    END IF;
    FOR r IN SELECT * FROM ticketctl_create_hold(p_trip, p_user, p_from, p_to, p_mask, p_class,
                                                 p_fare, p_seats, p_now, p_expires, p_max) LOOP
        v_hold := r.hold_id;
        cap := NULL; cap_max := NULL; hold_id := r.hold_id; already := r.already;
        lost := r.lost; id := r.id; coach_seq := r.coach_seq; coach_code := r.coach_code;
        seat_no := r.seat_no; class := r.class; taken := r.taken;
        RETURN NEXT;
    END LOOP;
    IF v_hold IS NOT NULL AND p_addr IS NOT NULL THEN
        UPDATE holds h SET client_addr = p_addr WHERE h.id = v_hold;
    END IF;
END;
$$;

-- A counter sale's order: the buyer's phone may own at most `p_max` seats on
-- the trip. The phone's count is taken under an advisory lock on (phone, trip),
-- so two sales to one phone cannot both pass. Outcomes as
-- ticketctl_create_order, plus 'limit' (`already` seats owned; nothing written).
-- A created order records its buyer in counter_sales in the same transaction.
CREATE FUNCTION ticketctl_create_counter_order(
    p_user BIGINT, p_hold BIGINT, p_names TEXT[], p_nids TEXT[], p_token TEXT,
    p_key TEXT, p_hash TEXT, p_now BIGINT, p_phone TEXT, p_max BIGINT)
RETURNS TABLE (outcome TEXT, order_id BIGINT, trip_id BIGINT, hold_status TEXT,
               expires_at BIGINT, amount BIGINT, seat_ids BIGINT[], already BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_trip BIGINT;
    v_already BIGINT := 0;
    r RECORD;
BEGIN
    SELECT h.trip_id INTO v_trip FROM holds h WHERE h.id = p_hold AND h.user_id = p_user;
    IF FOUND THEN
        PERFORM pg_advisory_xact_lock(
            hashtextextended('ticketctl.phone-seats.' || p_phone || '.' || v_trip, 0));
        SELECT COUNT(*) INTO v_already FROM counter_sales cs
        JOIN orders o ON o.hold_id = cs.hold_id
        JOIN order_passengers p ON p.order_id = o.id
        WHERE cs.phone = p_phone AND o.trip_id = v_trip
          AND o.status IN ('pending', 'reserved', 'paid', 'confirmed');
        IF v_already + cardinality(p_names) > p_max THEN
            RETURN QUERY SELECT 'limit'::TEXT, NULL::BIGINT, v_trip, NULL::TEXT, NULL::BIGINT,
                NULL::BIGINT, NULL::BIGINT[], v_already;
            RETURN;
        END IF;
    END IF;
    FOR r IN SELECT * FROM ticketctl_create_order(p_user, p_hold, p_names, p_nids, p_token,
                                                  p_key, p_hash, p_now) LOOP
        IF r.outcome = 'created' THEN
            INSERT INTO counter_sales AS cs (hold_id, clerk_id, phone, created_at)
            VALUES (p_hold, p_user, p_phone, p_now)
            ON CONFLICT ON CONSTRAINT counter_sales_pkey DO UPDATE SET phone = excluded.phone;
        END IF;
        outcome := r.outcome; order_id := r.order_id; trip_id := r.trip_id;
        hold_status := r.hold_status; expires_at := r.expires_at; amount := r.amount;
        seat_ids := r.seat_ids; already := v_already;
        RETURN NEXT;
    END LOOP;
END;
$$;
