-- NID-bound identity (issue 11). Bangladesh Railway binds purchases to the
-- national ID (NID): the 4-seat cap is per NID per trip across online and
-- counter sales, with a cap per travel day across trips. Both caps are
-- counted and applied under an advisory lock on the NID, in the same
-- function call (transaction) as the hold or the counter order, so an online
-- hold and a counter sale for one NID arriving together cannot both pass.
--
-- The account's NID, verified at the NID registry when it was given. Kept
-- plainly (counter look-ups and exports need the number) and never logged.
-- Older accounts (and staff) have none; they cannot buy online until they add
-- one. One account per NID (constraint users_nid_key).
ALTER TABLE users ADD COLUMN nid TEXT;
ALTER TABLE users ADD CONSTRAINT users_nid_key UNIQUE (nid);

-- Whose cap a hold's seats count against: the account's NID for an online
-- hold, the buyer's NID once a counter hold is sold. NULL (a clerk's hold not
-- yet sold, or a hold from before this migration) counts for no NID.
ALTER TABLE holds ADD COLUMN nid TEXT;
CREATE INDEX holds_nid_status ON holds(nid, status);

-- A counter sale records the buyer's NID beside the phone.
ALTER TABLE counter_sales ADD COLUMN nid TEXT;
CREATE INDEX counter_sales_nid ON counter_sales(nid);

-- NIDs that hit the seat caps (counted) or were reported by a clerk. A
-- flagged NID (flagged_at set) cannot buy until an admin clears it.
CREATE TABLE nid_flags (
    nid         TEXT PRIMARY KEY,
    limit_hits  BIGINT NOT NULL DEFAULT 0,
    flagged_at  BIGINT,
    reason      TEXT,
    reported_by BIGINT REFERENCES users(id),
    updated_at  BIGINT NOT NULL
);
CREATE INDEX nid_flags_flagged ON nid_flags(flagged_at);

-- The seats `p_nid` holds or owns on trip `p_trip` and on every trip of the
-- same service date, leaving out hold `p_skip` (a counter hold being sold).
CREATE FUNCTION ticketctl_nid_seats(p_nid TEXT, p_trip BIGINT, p_now BIGINT, p_skip BIGINT)
RETURNS TABLE (on_trip BIGINT, on_day BIGINT)
LANGUAGE sql AS $$
    SELECT COUNT(*) FILTER (WHERE h.trip_id = p_trip), COUNT(*)
    FROM holds h
    JOIN hold_seats hs ON hs.hold_id = h.id
    JOIN trips t ON t.id = h.trip_id
    LEFT JOIN orders o ON o.hold_id = h.id
    WHERE h.nid = p_nid
      AND h.id IS DISTINCT FROM p_skip
      AND t.service_date = (SELECT t2.service_date FROM trips t2 WHERE t2.id = p_trip)
      AND ((h.status = 'active' AND h.expires_at > p_now)
           OR (h.status = 'ordered' AND o.status IN ('pending', 'reserved', 'paid', 'confirmed')));
$$;

-- Which NID rule refuses `p_wanted` more seats for `p_nid` on `p_trip`, as
-- (cap, cap_max, already); no row when none does. Call it holding the NID's lock.
CREATE FUNCTION ticketctl_nid_refusal(p_nid TEXT, p_trip BIGINT, p_now BIGINT, p_skip BIGINT,
                                      p_wanted BIGINT, p_trip_max BIGINT, p_day_max BIGINT)
RETURNS TABLE (cap TEXT, cap_max BIGINT, already BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    v_trip BIGINT;
    v_day BIGINT;
BEGIN
    IF EXISTS (SELECT 1 FROM nid_flags f WHERE f.nid = p_nid AND f.flagged_at IS NOT NULL) THEN
        RETURN QUERY SELECT 'nid_flagged'::TEXT, NULL::BIGINT, NULL::BIGINT;
        RETURN;
    END IF;
    SELECT s.on_trip, s.on_day INTO v_trip, v_day FROM ticketctl_nid_seats(p_nid, p_trip, p_now, p_skip) s;
    IF v_trip + p_wanted > p_trip_max THEN
        RETURN QUERY SELECT 'seats_per_nid_per_trip'::TEXT, p_trip_max, v_trip;
    ELSIF p_day_max IS NOT NULL AND v_day + p_wanted > p_day_max THEN
        RETURN QUERY SELECT 'seats_per_nid_per_day'::TEXT, p_day_max, v_day;
    END IF;
END;
$$;

-- As in 0006, and with `p_nid_trip` set the hold counts against the account's
-- NID: refused as 'nid_required' (no NID on the account), 'nid_flagged', or
-- by a cap ('seats_per_nid_per_trip', 'seats_per_nid_per_day'), nothing
-- written; a hold made records the NID.
DROP FUNCTION ticketctl_create_hold_capped(BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, TEXT, BIGINT,
    BIGINT[], BIGINT, BIGINT, BIGINT, TEXT, BIGINT, BIGINT);
CREATE FUNCTION ticketctl_create_hold_capped(
    p_trip BIGINT, p_user BIGINT, p_from BIGINT, p_to BIGINT, p_mask BIGINT,
    p_class TEXT, p_fare BIGINT, p_seats BIGINT[], p_now BIGINT, p_expires BIGINT,
    p_max BIGINT, p_addr TEXT, p_per_account BIGINT, p_per_address BIGINT,
    p_nid_trip BIGINT, p_nid_day BIGINT)
RETURNS TABLE (cap TEXT, cap_max BIGINT, hold_id BIGINT, already BIGINT, lost BIGINT[],
               id BIGINT, coach_seq BIGINT, coach_code TEXT, seat_no BIGINT, class TEXT,
               taken BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_count BIGINT;
    v_hold BIGINT;
    v_nid TEXT;
    f RECORD;
    r RECORD;
BEGIN
    -- Lock order: user, NID, address, seats (every hold takes them so).
    SELECT u.nid INTO v_nid FROM users u WHERE u.id = p_user FOR NO KEY UPDATE;
    IF p_nid_trip IS NOT NULL THEN
        IF v_nid IS NULL THEN
            RETURN QUERY SELECT 'nid_required'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT,
                NULL::BIGINT[], NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::BIGINT,
                NULL::TEXT, NULL::BIGINT;
            RETURN;
        END IF;
        PERFORM pg_advisory_xact_lock(hashtextextended('ticketctl.nid-seats.' || v_nid, 0));
        FOR f IN SELECT * FROM ticketctl_nid_refusal(v_nid, p_trip, p_now, NULL,
                                                      cardinality(p_seats), p_nid_trip, p_nid_day) LOOP
            RETURN QUERY SELECT f.cap, f.cap_max, NULL::BIGINT, f.already, NULL::BIGINT[],
                NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::BIGINT, NULL::TEXT, NULL::BIGINT;
            RETURN;
        END LOOP;
    END IF;
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
    IF v_hold IS NOT NULL THEN
        UPDATE holds h SET client_addr = p_addr,
                           nid = CASE WHEN p_nid_trip IS NOT NULL THEN v_nid END
        WHERE h.id = v_hold;
    END IF;
END;
$$;

-- A counter sale's order (as in 0009), capped per buyer NID instead of per
-- phone: under the NID's lock, 'flagged' or 'limit' (with `cap`, `cap_max`
-- and `already`) when it may not buy, nothing written. A created order
-- records its buyer (phone and NID) in counter_sales, and its hold the NID.
DROP FUNCTION ticketctl_create_counter_order(BIGINT, BIGINT, TEXT[], TEXT[], TEXT, TEXT, TEXT,
    BIGINT, TEXT, BIGINT, TEXT);
CREATE FUNCTION ticketctl_create_counter_order(
    p_user BIGINT, p_hold BIGINT, p_names TEXT[], p_nids TEXT[], p_token TEXT,
    p_key TEXT, p_hash TEXT, p_now BIGINT, p_phone TEXT, p_nid TEXT, p_nid_trip BIGINT,
    p_nid_day BIGINT, p_event TEXT)
RETURNS TABLE (outcome TEXT, order_id BIGINT, trip_id BIGINT, hold_status TEXT,
               expires_at BIGINT, amount BIGINT, seat_ids BIGINT[], already BIGINT,
               cap TEXT, cap_max BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_trip BIGINT;
    f RECORD;
    r RECORD;
BEGIN
    SELECT h.trip_id INTO v_trip FROM holds h WHERE h.id = p_hold AND h.user_id = p_user;
    IF FOUND THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('ticketctl.nid-seats.' || p_nid, 0));
        FOR f IN SELECT * FROM ticketctl_nid_refusal(p_nid, v_trip, p_now, p_hold,
                                                      cardinality(p_names), p_nid_trip, p_nid_day) LOOP
            RETURN QUERY SELECT CASE WHEN f.cap = 'nid_flagged' THEN 'flagged' ELSE 'limit' END,
                NULL::BIGINT, v_trip, NULL::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT[],
                f.already, f.cap, f.cap_max;
            RETURN;
        END LOOP;
    END IF;
    FOR r IN SELECT * FROM ticketctl_create_order(p_user, p_hold, p_names, p_nids, p_token,
                                                  p_key, p_hash, p_now, p_event) LOOP
        IF r.outcome = 'created' THEN
            INSERT INTO counter_sales AS cs (hold_id, clerk_id, phone, nid, created_at)
            VALUES (p_hold, p_user, p_phone, p_nid, p_now)
            ON CONFLICT ON CONSTRAINT counter_sales_pkey
            DO UPDATE SET phone = excluded.phone, nid = excluded.nid;
            UPDATE holds h SET nid = p_nid WHERE h.id = p_hold;
        END IF;
        outcome := r.outcome; order_id := r.order_id; trip_id := r.trip_id;
        hold_status := r.hold_status; expires_at := r.expires_at; amount := r.amount;
        seat_ids := r.seat_ids; already := NULL; cap := NULL; cap_max := NULL;
        RETURN NEXT;
    END LOOP;
END;
$$;
