//! The simulated state: regions' databases (durable), their processes'
//! memory (lost in a crash), the witness's leases and the payment provider's
//! charges. Maps are ordered so a seed always replays the same way.

use std::collections::BTreeMap;

/// Simulated milliseconds since the start of a schedule.
pub type Time = u64;

/// Region A is 0, region B is 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Region(pub usize);

impl Region {
    pub const ALL: [Region; 2] = [Region(0), Region(1)];

    pub fn other(self) -> Region {
        Region(1 - self.0)
    }

    pub fn name(self) -> char {
        if self.0 == 0 { 'A' } else { 'B' }
    }
}

/// The trips homed in one region at the start form one lease group, which
/// moves as a whole.
pub fn group_of(trip: usize) -> usize {
    trip % 2
}

/// One buyer's wish: a seat over some segments of a trip, under a fixed
/// order id (the client's Idempotency-Key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intent {
    pub order: u64,
    pub trip: usize,
    pub seat: usize,
    pub segments: u64,
    pub arrives: Time,
}

impl Intent {
    pub fn overlaps(&self, other: &Intent) -> bool {
        self.trip == other.trip && self.seat == other.seat && self.segments & other.segments != 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleState {
    /// Sold and standing.
    Live,
    /// Written by this region under an epoch that has since moved on, not
    /// known to have reached the other region: to be re-applied or refunded.
    Doubt,
    /// Re-applied at the current home; its row arrives by replication.
    Moved,
    /// Refunded.
    Void,
}

#[derive(Debug, Clone)]
pub struct Sale {
    pub intent: Intent,
    /// The region whose writer wrote it.
    pub by: Region,
    pub state: SaleState,
    /// Its place in this region's outgoing log, when this region wrote it.
    pub lsn: Option<usize>,
}

/// A row of a region's outgoing replication stream.
#[derive(Debug, Clone)]
pub enum Entry {
    Sale {
        intent: Intent,
        epoch: u64,
    },
    Home {
        group: usize,
        region: Region,
        epoch: u64,
    },
    /// The home refunded an order it could not seat.
    Refund {
        order: u64,
    },
}

/// One region's database: durable through crashes.
#[derive(Debug, Clone)]
pub struct Db {
    /// Per lease group: its home and the epoch it is homed under.
    pub homes: [(Region, u64); 2],
    pub sales: BTreeMap<u64, Sale>,
    pub log: Vec<Entry>,
    /// How many of the other region's log entries have been applied (or refused).
    pub applied: usize,
    /// How many of this region's entries the other region has processed.
    pub acked: usize,
}

impl Db {
    pub fn new() -> Db {
        Db {
            homes: [(Region(0), 1), (Region(1), 1)],
            sales: BTreeMap::new(),
            log: Vec::new(),
            applied: 0,
            acked: 0,
        }
    }

    /// Free for `intent` unless another order stands on one of its
    /// seat-segments (a doubtful one still counts: it may come back).
    pub fn free_for(&self, intent: &Intent) -> bool {
        !self.sales.values().any(|s| {
            s.intent.order != intent.order
                && matches!(s.state, SaleState::Live | SaleState::Doubt)
                && s.intent.overlaps(intent)
        })
    }

    pub fn live(&self) -> impl Iterator<Item = &Sale> {
        self.sales.values().filter(|s| s.state == SaleState::Live)
    }
}

/// A lease a region's processes believe they hold.
#[derive(Debug, Clone, Copy)]
pub struct Held {
    pub epoch: u64,
    /// Local clock reading when the last successful renewal was *sent*.
    pub renewed_local: f64,
}

/// A region: its database and its processes' memory.
#[derive(Debug, Clone)]
pub struct RegionState {
    pub db: Db,
    pub up: bool,
    /// Bumped at each crash so timers of an earlier life are ignored.
    pub life: u64,
    pub held: [Option<Held>; 2],
    /// Confirmations go out without waiting for the other region.
    pub asynchronous: bool,
    /// Log positions of confirmations waiting for the other region, with their commit times.
    pub waiting: BTreeMap<usize, (u64, Time)>,
    /// How far the outgoing log has been sent since the last resend.
    pub sent: usize,
    pub last_ack_progress: Time,
    /// Local clock = true time × (1 + rate).
    pub clock_rate: f64,
}

impl RegionState {
    pub fn local(&self, now: Time) -> f64 {
        now as f64 * (1.0 + self.clock_rate)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Lease {
    pub holder: Region,
    pub epoch: u64,
    pub expires: Time,
}

/// A confirmation a buyer was given.
#[derive(Debug, Clone, Copy)]
pub struct Told {
    pub at: Time,
    pub by: Region,
    pub synchronous: bool,
    /// Whether the teller's lease was truly valid at that moment (what the
    /// witness knew, not what the teller believed).
    pub lease_truly_valid: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Charge {
    pub refunded: bool,
}
