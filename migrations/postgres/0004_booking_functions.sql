-- Booking steps as server-side functions (Postgres only; SQLite runs the same
-- steps in its single writer, so the schema and the behaviour are unchanged).
--
-- Why: each step used to be 5–12 statements, each a round trip holding one of
-- the few pooled connections. A function call is one round trip, and as a
-- single statement in autocommit it is also its own transaction: all or
-- nothing, committed (durably, synchronous_commit stays on) before the reply.
--
-- The functions are VOLATILE plpgsql on purpose: in READ COMMITTED every
-- statement inside takes a fresh snapshot, exactly as the separate statements
-- did, so a check made after taking a row lock sees what the lock holder
-- committed (a single CTE statement would not: all its parts share one
-- snapshot taken before the locks).
--
-- Outbox payloads built here spell the JSON exactly as serde_json does in the
-- Rust code (compact, keys sorted), so both backends write identical events.

-- Seats of `p_hold` lose exactly the hold's bits.
CREATE FUNCTION ticketctl_free_hold_seats(p_hold BIGINT) RETURNS VOID
LANGUAGE sql AS $$
    UPDATE seats SET taken = taken & ~(SELECT mask FROM holds WHERE id = p_hold)
    WHERE id IN (SELECT seat_id FROM hold_seats WHERE hold_id = p_hold);
$$;

-- A hold: the per-user limit, then all the seats or none.
-- Returns one row per seat taken (hold_id set), or one row with hold_id NULL
-- and either `lost` (the seats that were not free; nothing was taken) or, when
-- `lost` is NULL too, the user's limit was reached (`already` seats held).
CREATE FUNCTION ticketctl_create_hold(
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
           OR (h.status = 'ordered' AND o.status IN ('pending','reserved','paid','confirmed')));
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

-- Releases an active hold of the user; true when it was released.
CREATE FUNCTION ticketctl_release_hold(p_hold BIGINT, p_user BIGINT) RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE holds SET status = 'released'
    WHERE id = p_hold AND user_id = p_user AND status = 'active';
    IF NOT FOUND THEN
        RETURN FALSE;
    END IF;
    PERFORM ticketctl_free_hold_seats(p_hold);
    RETURN TRUE;
END;
$$;

-- Expires up to `p_limit` overdue holds; returns their ids.
CREATE FUNCTION ticketctl_expire_holds(p_now BIGINT, p_limit BIGINT) RETURNS SETOF BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    v_id BIGINT;
BEGIN
    -- SKIP LOCKED: several server processes sweep without waiting on each other.
    FOR v_id IN
        SELECT id FROM holds WHERE status = 'active' AND expires_at <= p_now
        ORDER BY expires_at LIMIT p_limit FOR UPDATE SKIP LOCKED
    LOOP
        UPDATE holds SET status = 'expired' WHERE id = v_id;
        PERFORM ticketctl_free_hold_seats(v_id);
        INSERT INTO outbox (kind, subject_id, payload, created_at)
        VALUES ('hold.expired', v_id, format('{"hold_id":%s}', v_id), p_now);
        RETURN NEXT v_id;
    END LOOP;
END;
$$;

-- An order for an active hold of the user. `outcome`: 'created' (order_id,
-- amount and the hold's seats in coach/seat order), 'missing' (no such hold of
-- the user), 'inactive' (hold_status says why) or 'count' (passengers ≠ seats).
-- A reused Idempotency-Key fails the whole call with unique violation 23505
-- on idempotency_keys_pkey, leaving nothing behind.
CREATE FUNCTION ticketctl_create_order(
    p_user BIGINT, p_hold BIGINT, p_names TEXT[], p_nids TEXT[], p_token TEXT,
    p_key TEXT, p_hash TEXT, p_now BIGINT)
RETURNS TABLE (outcome TEXT, order_id BIGINT, trip_id BIGINT, hold_status TEXT,
               expires_at BIGINT, amount BIGINT, seat_ids BIGINT[])
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    h holds%ROWTYPE;
    v_seats BIGINT[];
    v_amount BIGINT;
    v_order BIGINT;
BEGIN
    -- Locked so two orders cannot race for the hold.
    SELECT * INTO h FROM holds WHERE holds.id = p_hold FOR UPDATE;
    IF NOT FOUND OR h.user_id <> p_user THEN
        RETURN QUERY SELECT 'missing', NULL::BIGINT, NULL::BIGINT, NULL::TEXT, NULL::BIGINT,
            NULL::BIGINT, NULL::BIGINT[];
        RETURN;
    END IF;
    SELECT COALESCE(array_agg(s.id ORDER BY s.coach_seq, s.seat_no), '{}') INTO v_seats
    FROM hold_seats hs JOIN seats s ON s.id = hs.seat_id WHERE hs.hold_id = p_hold;
    IF h.status <> 'active' OR h.expires_at <= p_now THEN
        RETURN QUERY SELECT 'inactive', NULL::BIGINT, h.trip_id, h.status, h.expires_at,
            NULL::BIGINT, v_seats;
        RETURN;
    END IF;
    IF cardinality(p_names) <> cardinality(v_seats) THEN
        RETURN QUERY SELECT 'count', NULL::BIGINT, h.trip_id, h.status, h.expires_at,
            NULL::BIGINT, v_seats;
        RETURN;
    END IF;
    v_amount := h.fare * cardinality(v_seats);
    INSERT INTO orders (user_id, hold_id, trip_id, status, amount, payment_token, created_at, updated_at)
    VALUES (p_user, p_hold, h.trip_id, 'reserved', v_amount, p_token, p_now, p_now)
    RETURNING orders.id INTO v_order;
    UPDATE holds SET status = 'ordered' WHERE holds.id = p_hold;
    INSERT INTO order_passengers (order_id, seq, name, nid, seat_id)
    SELECT v_order, p.n - 1, p.name, p.nid, v_seats[p.n]
    FROM unnest(p_names, p_nids) WITH ORDINALITY AS p(name, nid, n);
    INSERT INTO idempotency_keys (user_id, key, request_hash, order_id, created_at)
    VALUES (p_user, p_key, p_hash, v_order, p_now);
    INSERT INTO outbox (kind, subject_id, payload, created_at)
    VALUES ('order.reserved', v_order,
            format('{"amount":%s,"order_id":%s}', v_amount, v_order), p_now);
    RETURN QUERY SELECT 'created', v_order, h.trip_id, 'ordered'::TEXT, h.expires_at,
        v_amount, v_seats;
END;
$$;

-- One order transition (`p_from` → `p_to`), freeing the hold's seats and
-- cancelling tickets when `p_free`; the event's kind and payload come from the
-- caller. Returns the order's hold id, or NULL when the order was not `p_from`.
CREATE FUNCTION ticketctl_transition_order(
    p_order BIGINT, p_from TEXT, p_to TEXT, p_now BIGINT, p_charge TEXT, p_failure TEXT,
    p_refunded BIGINT, p_free BOOLEAN, p_kind TEXT, p_payload TEXT)
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    v_hold BIGINT;
BEGIN
    UPDATE orders SET status = p_to, updated_at = p_now,
        charge_id = COALESCE(p_charge, charge_id), failure = COALESCE(p_failure, failure),
        refunded_amount = COALESCE(p_refunded, refunded_amount)
    WHERE id = p_order AND status = p_from
    RETURNING hold_id INTO v_hold;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p_free THEN
        PERFORM ticketctl_free_hold_seats(v_hold);
        UPDATE tickets SET status = 'cancelled' WHERE order_id = p_order;
    END IF;
    INSERT INTO outbox (kind, subject_id, payload, created_at)
    VALUES (p_kind, p_order, p_payload, p_now);
    RETURN v_hold;
END;
$$;

-- Tickets (one per element of the arrays), each with its `ticket.issued`
-- event; a ticket already issued for that passenger is left as it is.
-- Returns how many were new.
CREATE FUNCTION ticketctl_issue_tickets(
    p_pnrs TEXT[], p_orders BIGINT[], p_seqs BIGINT[], p_seats BIGINT[], p_payloads TEXT[],
    p_now BIGINT)
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    v_issued BIGINT;
BEGIN
    WITH t AS (
        INSERT INTO tickets (pnr, order_id, passenger_seq, seat_id, status, payload, issued_at)
        SELECT pnr, order_id, seq, seat_id, 'valid', payload, p_now
        FROM unnest(p_pnrs, p_orders, p_seqs, p_seats, p_payloads) WITH ORDINALITY
             AS x(pnr, order_id, seq, seat_id, payload, n)
        ORDER BY n
        ON CONFLICT (order_id, passenger_seq) DO NOTHING
        RETURNING id, pnr, order_id
    ), e AS (
        INSERT INTO outbox (kind, subject_id, payload, created_at)
        SELECT 'ticket.issued', t.id,
               format('{"order_id":%s,"pnr":%s,"ticket_id":%s}', t.order_id, to_json(t.pnr), t.id),
               p_now
        FROM t ORDER BY t.id
    )
    SELECT COUNT(*) INTO v_issued FROM t;
    RETURN v_issued;
END;
$$;

-- Confirms an order: `reserved → paid` (recording the charge) when `p_from`
-- is 'reserved', then `paid → confirmed`, then its tickets. Returns the
-- order's tickets, or no row with `moved` true when the order was no longer
-- `p_from` (someone else settled it; nothing was written).
CREATE FUNCTION ticketctl_confirm_order(
    p_order BIGINT, p_from TEXT, p_charge TEXT, p_now BIGINT,
    p_paid_payload TEXT, p_confirmed_payload TEXT,
    p_pnrs TEXT[], p_seqs BIGINT[], p_seats BIGINT[], p_payloads TEXT[])
RETURNS TABLE (moved BOOLEAN, id BIGINT, pnr TEXT, order_id BIGINT, passenger_seq BIGINT,
               seat_id BIGINT, status TEXT, payload TEXT, issued_at BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    IF p_from = 'reserved' THEN
        IF ticketctl_transition_order(p_order, 'reserved', 'paid', p_now, p_charge, NULL, NULL,
                                      FALSE, 'order.paid', p_paid_payload) IS NULL THEN
            RETURN QUERY SELECT TRUE, NULL::BIGINT, NULL::TEXT, NULL::BIGINT, NULL::BIGINT,
                NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::BIGINT;
            RETURN;
        END IF;
    END IF;
    IF ticketctl_transition_order(p_order, 'paid', 'confirmed', p_now, NULL, NULL, NULL,
                                  FALSE, 'order.confirmed', p_confirmed_payload) IS NULL THEN
        IF p_from = 'paid' THEN
            RETURN QUERY SELECT TRUE, NULL::BIGINT, NULL::TEXT, NULL::BIGINT, NULL::BIGINT,
                NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::BIGINT;
            RETURN;
        END IF;
        -- Unreachable (it was paid a statement ago); the error undoes the call.
        RAISE EXCEPTION 'order % changed while being confirmed', p_order;
    END IF;
    PERFORM ticketctl_issue_tickets(p_pnrs, array_fill(p_order, ARRAY[cardinality(p_pnrs)]),
                                    p_seqs, p_seats, p_payloads, p_now);
    RETURN QUERY
        SELECT FALSE, t.id, t.pnr, t.order_id, t.passenger_seq, t.seat_id, t.status,
               t.payload, t.issued_at
        FROM tickets t WHERE t.order_id = p_order ORDER BY t.order_id, t.passenger_seq;
END;
$$;
