-- Multi-region (issue 17, docs/multi-region.md §4–§5.3): every trip's
-- inventory has a home region that alone writes it, under an ownership
-- epoch. A write (hold, order, confirmation) by a server of region R holding
-- epochs E succeeds only if, in the write's own transaction, the trip's row
-- says `region = R` and `epoch ∈ E`; a takeover moves a region's trips to
-- another region under a new epoch, so a server still holding an old epoch
-- can no longer write them. A deployment of one region has no rows here and
-- no server with a region: nothing is checked.
CREATE TABLE trip_homes (
    trip_id BIGINT PRIMARY KEY REFERENCES trips(id),
    region  TEXT NOT NULL,
    epoch   BIGINT NOT NULL
);
CREATE INDEX trip_homes_region ON trip_homes(region);

-- The fencing check, called first in a write's transaction. FOR SHARE: a
-- takeover's UPDATE of these rows waits for writes already past the check,
-- and writes after it see the new home. Raises SQLSTATE TKF01 when refused.
CREATE FUNCTION ticketctl_fence(p_trip BIGINT, p_region TEXT, p_epochs BIGINT[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    home trip_homes%ROWTYPE;
BEGIN
    SELECT * INTO home FROM trip_homes WHERE trip_id = p_trip FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'trip % has no home region', p_trip USING ERRCODE = 'TKF01';
    END IF;
    IF home.region <> p_region OR NOT (home.epoch = ANY(p_epochs)) THEN
        RAISE EXCEPTION 'trip % is homed in % at epoch %; this server is % holding epochs %',
            p_trip, home.region, home.epoch, p_region, p_epochs USING ERRCODE = 'TKF01';
    END IF;
END $$;

-- As ticketctl_expire_holds (0009), for a server of a region: only holds on
-- trips homed in `p_region` at one of `p_epochs`. Holds on trips homed
-- elsewhere are replicas here; their home expires them.
CREATE FUNCTION ticketctl_expire_holds_homed(p_now BIGINT, p_limit BIGINT, p_event TEXT,
    p_region TEXT, p_epochs BIGINT[])
RETURNS SETOF BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    v_id BIGINT;
BEGIN
    FOR v_id IN
        SELECT h.id FROM holds h JOIN trip_homes th ON th.trip_id = h.trip_id
        WHERE h.status = 'active' AND h.expires_at <= p_now
          AND th.region = p_region AND th.epoch = ANY(p_epochs)
        ORDER BY h.expires_at LIMIT p_limit FOR UPDATE OF h SKIP LOCKED
    LOOP
        UPDATE holds SET status = 'expired' WHERE id = v_id;
        PERFORM ticketctl_free_hold_seats(v_id);
        INSERT INTO outbox (kind, subject_id, payload, created_at)
        VALUES ('hold.expired', v_id, format(p_event, v_id), p_now);
        RETURN NEXT v_id;
    END LOOP;
END;
$$;
