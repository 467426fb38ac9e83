-- Events from Rust, and outbox claims.
--
-- 1. The booking functions no longer spell event payloads in SQL: the caller
--    serialises the event (domain::Event, the one serialisation) and passes
--    it. Where the database assigns a value the event carries (a new order's
--    id and amount, an expired hold's id, a new ticket's id), the caller's
--    text holds a format() slot (%1$s, %2$s; a literal % is %%) that the
--    function fills in, so each step stays one round trip.
--    Rows written by the old functions are unchanged and still read back.
--
-- 2. Each consumer claims a batch before handling it (claimed_by, and a lease
--    until claimed_until), with FOR UPDATE SKIP LOCKED, so several server
--    processes never handle one event twice; a lapsed lease (the claimant
--    died mid-batch) lets another process take the events.

ALTER TABLE outbox
    ADD COLUMN fulfil_claimed_by TEXT, ADD COLUMN fulfil_claimed_until BIGINT,
    ADD COLUMN notify_claimed_by TEXT, ADD COLUMN notify_claimed_until BIGINT,
    ADD COLUMN audit_claimed_by TEXT,  ADD COLUMN audit_claimed_until BIGINT,
    ADD COLUMN relay_claimed_by TEXT,  ADD COLUMN relay_claimed_until BIGINT;

DROP FUNCTION ticketctl_expire_holds(BIGINT, BIGINT);
DROP FUNCTION ticketctl_create_counter_order(BIGINT, BIGINT, TEXT[], TEXT[], TEXT, TEXT, TEXT,
    BIGINT, TEXT, BIGINT);
DROP FUNCTION ticketctl_create_order(BIGINT, BIGINT, TEXT[], TEXT[], TEXT, TEXT, TEXT, BIGINT);
DROP FUNCTION ticketctl_confirm_order(BIGINT, TEXT, TEXT, BIGINT, TEXT, TEXT, TEXT[], BIGINT[],
    BIGINT[], TEXT[]);
DROP FUNCTION ticketctl_issue_tickets(TEXT[], BIGINT[], BIGINT[], BIGINT[], TEXT[], BIGINT);

-- Expires up to `p_limit` overdue holds; returns their ids. `p_event` is the
-- `hold.expired` payload with the hold id as %1$s.
CREATE FUNCTION ticketctl_expire_holds(p_now BIGINT, p_limit BIGINT, p_event TEXT)
RETURNS SETOF BIGINT
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
        VALUES ('hold.expired', v_id, format(p_event, v_id), p_now);
        RETURN NEXT v_id;
    END LOOP;
END;
$$;

-- As in 0004; `p_event` is the `order.reserved` payload with the order id as
-- %1$s and its amount as %2$s.
CREATE FUNCTION ticketctl_create_order(
    p_user BIGINT, p_hold BIGINT, p_names TEXT[], p_nids TEXT[], p_token TEXT,
    p_key TEXT, p_hash TEXT, p_now BIGINT, p_event TEXT)
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
    VALUES ('order.reserved', v_order, format(p_event, v_order, v_amount), p_now);
    RETURN QUERY SELECT 'created', v_order, h.trip_id, 'ordered'::TEXT, h.expires_at,
        v_amount, v_seats;
END;
$$;

-- As in 0006, passing `p_event` on to ticketctl_create_order.
CREATE FUNCTION ticketctl_create_counter_order(
    p_user BIGINT, p_hold BIGINT, p_names TEXT[], p_nids TEXT[], p_token TEXT,
    p_key TEXT, p_hash TEXT, p_now BIGINT, p_phone TEXT, p_max BIGINT, p_event TEXT)
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
                                                  p_key, p_hash, p_now, p_event) LOOP
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

-- As in 0004; `p_events` holds each ticket's `ticket.issued` payload with the
-- new ticket's id as %1$s.
CREATE FUNCTION ticketctl_issue_tickets(
    p_pnrs TEXT[], p_orders BIGINT[], p_seqs BIGINT[], p_seats BIGINT[], p_payloads TEXT[],
    p_now BIGINT, p_events TEXT[])
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
        RETURNING id, pnr, order_id, passenger_seq
    ), e AS (
        INSERT INTO outbox (kind, subject_id, payload, created_at)
        SELECT 'ticket.issued', t.id, format(ev.event, t.id), p_now
        FROM t JOIN unnest(p_orders, p_seqs, p_events) AS ev(order_id, seq, event)
               ON ev.order_id = t.order_id AND ev.seq = t.passenger_seq
        ORDER BY t.id
    )
    SELECT COUNT(*) INTO v_issued FROM t;
    RETURN v_issued;
END;
$$;

-- As in 0004, passing `p_events` on to ticketctl_issue_tickets.
CREATE FUNCTION ticketctl_confirm_order(
    p_order BIGINT, p_from TEXT, p_charge TEXT, p_now BIGINT,
    p_paid_payload TEXT, p_confirmed_payload TEXT,
    p_pnrs TEXT[], p_seqs BIGINT[], p_seats BIGINT[], p_payloads TEXT[], p_events TEXT[])
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
                                    p_seqs, p_seats, p_payloads, p_now, p_events);
    RETURN QUERY
        SELECT FALSE, t.id, t.pnr, t.order_id, t.passenger_seq, t.seat_id, t.status,
               t.payload, t.issued_at
        FROM tickets t WHERE t.order_id = p_order ORDER BY t.order_id, t.passenger_seq;
END;
$$;
