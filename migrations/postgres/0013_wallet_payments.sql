-- Mobile-wallet payments (bKash, Nagad, Rocket): one per order paid by wallet.
-- The passenger pays on the provider's page; the outcome arrives by a signed
-- callback (or, if none comes, by asking the provider). The order waits in
-- 'awaiting_payment' meanwhile, keeping its seats.
CREATE TABLE wallet_payments (
    order_id     BIGINT PRIMARY KEY REFERENCES orders(id),
    provider     TEXT NOT NULL,            -- bkash | nagad | rocket
    number       TEXT NOT NULL,            -- the payer's wallet number
    payment_id   TEXT UNIQUE,              -- the provider's id, once it made the payment
    redirect_url TEXT,                     -- where the passenger approves it
    state        TEXT NOT NULL,            -- initiated | processing | completed | cancelled | failed
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX wallet_payments_number ON wallet_payments(number, created_at);

-- Callbacks consumed, one body per payment: an exact duplicate is harmless
-- (answered the same), a different body for a consumed payment is a replay.
CREATE TABLE wallet_callbacks (
    payment_id  TEXT PRIMARY KEY,
    body_sha256 TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

-- An order awaiting its wallet payment keeps its seats: they count toward
-- the per-account and per-NID seat caps like those of any live order.
CREATE OR REPLACE FUNCTION ticketctl_create_hold(
    p_trip BIGINT, p_user BIGINT, p_from BIGINT, p_to BIGINT, p_mask BIGINT,
    p_class TEXT, p_fare BIGINT, p_seats BIGINT[], p_now BIGINT, p_expires BIGINT,
    p_max BIGINT)
RETURNS TABLE (hold_id BIGINT, already BIGINT, lost BIGINT[], id BIGINT,
               coach_seq BIGINT, coach_code TEXT, seat_no BIGINT, class TEXT, taken BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_already BIGINT;
    v_free BIGINT[];
    v_hold BIGINT;
BEGIN
    -- The user's row serialises this user's holds, so the count below includes
    -- any hold of theirs committed meanwhile. NO KEY UPDATE: it does not block
    -- the key-share locks that inserts referencing the user take.
    PERFORM 1 FROM users u WHERE u.id = p_user FOR NO KEY UPDATE;
    SELECT COUNT(*) INTO v_already
    FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id
    LEFT JOIN orders o ON o.hold_id = h.id
    WHERE h.user_id = p_user AND h.trip_id = p_trip
      AND ((h.status = 'active' AND h.expires_at > p_now)
           OR (h.status = 'ordered' AND o.status IN ('pending','reserved','paid','awaiting_payment','confirmed')));
    IF v_already + cardinality(p_seats) > p_max THEN
        RETURN QUERY SELECT NULL::BIGINT, v_already, NULL::BIGINT[], NULL::BIGINT,
            NULL::BIGINT, NULL::TEXT, NULL::BIGINT, NULL::TEXT, NULL::BIGINT;
        RETURN;
    END IF;
    -- Lock the seats in id order (every hold does, so two holds never
    -- deadlock); once locked nobody can change them until we commit, so the
    -- check below cannot lose a race and nothing is written if any seat is gone.
    PERFORM 1 FROM seats s WHERE s.id = ANY(p_seats) ORDER BY s.id FOR NO KEY UPDATE;
    SELECT COALESCE(array_agg(s.id), '{}') INTO v_free FROM seats s
    WHERE s.id = ANY(p_seats) AND s.trip_id = p_trip AND s.class = p_class
      AND (s.taken & p_mask) = 0;
    IF cardinality(v_free) <> cardinality(p_seats) THEN
        RETURN QUERY SELECT NULL::BIGINT, v_already,
            ARRAY(SELECT w FROM unnest(p_seats) w WHERE w <> ALL(v_free)),
            NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::BIGINT, NULL::TEXT, NULL::BIGINT;
        RETURN;
    END IF;
    INSERT INTO holds (trip_id, user_id, from_stop, to_stop, mask, class, fare, status, created_at, expires_at)
    VALUES (p_trip, p_user, p_from, p_to, p_mask, p_class, p_fare, 'active', p_now, p_expires)
    RETURNING holds.id INTO v_hold;
    INSERT INTO hold_seats (hold_id, seat_id) SELECT v_hold, w FROM unnest(p_seats) w;
    RETURN QUERY
        UPDATE seats s SET taken = s.taken | p_mask WHERE s.id = ANY(p_seats)
        RETURNING v_hold, v_already, NULL::BIGINT[], s.id, s.coach_seq, s.coach_code,
                  s.seat_no, s.class, s.taken;
END;
$$;

CREATE OR REPLACE FUNCTION ticketctl_nid_seats(p_nid TEXT, p_trip BIGINT, p_now BIGINT, p_skip BIGINT)
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
           OR (h.status = 'ordered' AND o.status IN ('pending', 'reserved', 'paid', 'awaiting_payment', 'confirmed')));
$$;
