-- Multi-region (issue 17, docs/multi-region.md §4–§5.3): every trip's
-- inventory has a home region that alone writes it, under an ownership
-- epoch. A write (hold, order, confirmation) by a server of region R holding
-- epochs E succeeds only if, in the write's own transaction, the trip's row
-- says `region = R` and `epoch ∈ E`; a takeover moves a region's trips to
-- another region under a new epoch, so a server still holding an old epoch
-- can no longer write them. A deployment of one region has no rows here and
-- no server with a region: nothing is checked.
CREATE TABLE trip_homes (
    trip_id INTEGER PRIMARY KEY REFERENCES trips(id),
    region  TEXT NOT NULL,
    epoch   INTEGER NOT NULL
);
CREATE INDEX trip_homes_region ON trip_homes(region);
