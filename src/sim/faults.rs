//! The faults of one schedule, drawn from its seed: partitions between the
//! regions and the witness, a region cut off from both, crashes, slow links.
//! Writer pauses and clock-rate skew are drawn as the schedule runs.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::model::{Region, Time};

/// The places messages travel between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    Region(Region),
    Witness,
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// No messages between the two regions.
    RegionLink,
    /// No messages between a region and the witness.
    WitnessLink(Region),
    /// A region reaches neither the other region nor the witness; buyers still reach it.
    Isolated(Region),
    /// A region's processes stop; its database survives.
    Crash(Region),
    /// Messages between the regions take up to two seconds.
    SlowLink,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::RegionLink => "partition between regions",
            FaultKind::WitnessLink(_) => "partition from the witness",
            FaultKind::Isolated(_) => "region isolated",
            FaultKind::Crash(_) => "region crash",
            FaultKind::SlowLink => "slow link",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Fault {
    pub kind: FaultKind,
    pub from: Time,
    pub until: Time,
}

impl Fault {
    pub fn active(&self, at: Time) -> bool {
        self.from <= at && at < self.until
    }

    /// Whether this fault stops messages between `a` and `b` at `at`.
    pub fn cuts(&self, a: Node, b: Node, at: Time) -> bool {
        if !self.active(at) {
            return false;
        }
        let between = |x: Node, y: Node| (a == x && b == y) || (a == y && b == x);
        match self.kind {
            FaultKind::RegionLink => between(Node::Region(Region(0)), Node::Region(Region(1))),
            FaultKind::WitnessLink(r) => between(Node::Region(r), Node::Witness),
            FaultKind::Isolated(r) => {
                between(Node::Region(r), Node::Region(r.other()))
                    || between(Node::Region(r), Node::Witness)
            }
            FaultKind::Crash(_) | FaultKind::SlowLink => false,
        }
    }
}

/// One to four faults, each starting within the window and over before it closes.
pub fn draw(rng: &mut ChaCha8Rng, window: Time) -> Vec<Fault> {
    let count = rng.gen_range(1..=4);
    (0..count)
        .map(|_| {
            let region = Region(rng.gen_range(0..2));
            let kind = match rng.gen_range(0..10) {
                0 | 1 => FaultKind::RegionLink,
                2 | 3 => FaultKind::WitnessLink(region),
                4..=6 => FaultKind::Isolated(region),
                7 | 8 => FaultKind::Crash(region),
                _ => FaultKind::SlowLink,
            };
            // Long enough, often, for a lease to run out (10 s) and a takeover to follow.
            let length = rng.gen_range(1_000..=25_000).min(window / 2);
            let from = rng.gen_range(0..window - length);
            Fault {
                kind,
                from,
                until: from + length,
            }
        })
        .collect()
}
