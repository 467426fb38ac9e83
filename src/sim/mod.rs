//! A deterministic simulation of the two-region protocol in
//! `docs/multi-region.md`: trips homed by region, a witness holding one lease
//! per region's trips, fencing epochs checked by every write and by every
//! replicated row, synchronous confirmation that falls back to asynchronous
//! when the other region is out of sight, and the rejoin that re-applies or
//! refunds a returning region's unreplicated tail.
//!
//! One machine cannot show a data centre lost mid-sale under every timing, so
//! the model runs thousands of seeded schedules of partitions, crashes,
//! writer pauses, slow links and clock-rate skew against a crowd of buyers,
//! and checks after each (once every fault has healed) that:
//! - no seat-segment is live in two orders, in either region's database;
//! - both regions agree on every live order;
//! - no order confirmed synchronously is lost, and an order confirmed
//!   asynchronously is lost only if it was confirmed while its region's lease
//!   was truly valid (the stated recovery point);
//! - every charge is ticketed or refunded, never both, never neither.
//!
//! Everything is driven by one seed (ChaCha, fixed-order maps), so a failing
//! seed replays exactly: `ticketctl simulate --seed N`.

mod check;
mod faults;
mod model;
mod world;

pub use check::Violation;
pub use faults::{Fault, FaultKind};
pub use model::Region;

/// A deliberate weakening of the protocol, to show the checks catch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sabotage {
    /// The protocol as designed.
    None,
    /// Writes and replicated rows are applied without comparing epochs.
    NoFence,
    /// One region's clock runs 20–30 % slow, beyond the lease's skew margin.
    ClockSkew,
}

/// The model's dimensions and timings (milliseconds of simulated time).
#[derive(Debug, Clone)]
pub struct Settings {
    pub trips: usize,
    pub seats: usize,
    pub segments: u32,
    pub buyers: usize,
    /// Buyers arrive and faults start within this window; all faults end by its close.
    pub fault_window_ms: u64,
    /// Simulated time after the window for everything to heal and settle.
    pub settle_ms: u64,
    pub lease_ttl_ms: u64,
    pub lease_margin_ms: u64,
    pub lease_renew_ms: u64,
    pub probe_ms: u64,
    /// Round trip between the regions (and to the witness).
    pub rtt_ms: u64,
    /// How long a confirmation waits for the other region before going asynchronous.
    pub sync_timeout_ms: u64,
    /// The largest clock-rate error a region may have (0.05 = 5 %).
    pub max_skew: f64,
    /// The chance that a write pauses (GC, swap, a slow disk) between its lease check and its commit.
    pub pause_chance: f64,
    pub sabotage: Sabotage,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            trips: 4,
            seats: 3,
            segments: 3,
            buyers: 240,
            fault_window_ms: 60_000,
            settle_ms: 120_000,
            lease_ttl_ms: 10_000,
            lease_margin_ms: 1_000,
            lease_renew_ms: 2_000,
            probe_ms: 1_000,
            rtt_ms: 8,
            sync_timeout_ms: 2_000,
            max_skew: 0.05,
            pause_chance: 0.03,
            sabotage: Sabotage::None,
        }
    }
}

/// What one schedule did and found.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub seed: u64,
    pub events: u64,
    pub messages: u64,
    pub faults: Vec<Fault>,
    pub pauses: u64,
    pub takeovers: u64,
    pub confirmed_sync: u64,
    pub confirmed_async: u64,
    pub reapplied: u64,
    /// Orders of a lost tail whose seats were resold meanwhile: refunded (the recovery point).
    pub refunded_conflicts: u64,
    pub checks: u64,
    pub violations: Vec<Violation>,
}

/// Runs the schedule `seed` and checks it.
pub fn run(seed: u64, settings: &Settings) -> Outcome {
    world::World::new(seed, settings.clone()).run()
}

/// Totals over many schedules.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub schedules: u64,
    pub events: u64,
    pub messages: u64,
    pub faults: u64,
    pub faults_by_kind: std::collections::BTreeMap<&'static str, u64>,
    pub pauses: u64,
    pub takeovers: u64,
    pub confirmed_sync: u64,
    pub confirmed_async: u64,
    pub reapplied: u64,
    pub refunded_conflicts: u64,
    pub checks: u64,
    /// The failing seeds, each with its first violation.
    pub failures: Vec<(u64, Violation)>,
}

impl Summary {
    pub fn add(&mut self, o: &Outcome) {
        self.schedules += 1;
        self.events += o.events;
        self.messages += o.messages;
        self.faults += o.faults.len() as u64 + o.pauses;
        for f in &o.faults {
            *self.faults_by_kind.entry(f.kind.name()).or_default() += 1;
        }
        if o.pauses > 0 {
            *self.faults_by_kind.entry("writer pause").or_default() += o.pauses;
        }
        self.pauses += o.pauses;
        self.takeovers += o.takeovers;
        self.confirmed_sync += o.confirmed_sync;
        self.confirmed_async += o.confirmed_async;
        self.reapplied += o.reapplied;
        self.refunded_conflicts += o.refunded_conflicts;
        self.checks += o.checks;
        if let Some(v) = o.violations.first() {
            self.failures.push((o.seed, v.clone()));
        }
    }
}

/// Runs `count` schedules from `first` on.
pub fn run_many(first: u64, count: u64, settings: &Settings) -> Summary {
    let mut summary = Summary::default();
    for seed in first..first + count {
        summary.add(&run(seed, settings));
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_replays_exactly() {
        let settings = Settings::default();
        let (a, b) = (run(42, &settings), run(42, &settings));
        assert_eq!(a.events, b.events);
        assert_eq!(a.messages, b.messages);
        assert_eq!(
            a.confirmed_sync + a.confirmed_async,
            b.confirmed_sync + b.confirmed_async
        );
        assert_eq!(a.violations, b.violations);
        assert_ne!(
            run(43, &settings).events,
            a.events,
            "another seed, another schedule"
        );
    }

    #[test]
    fn a_fault_free_run_confirms_everything_synchronously() {
        // With the window's faults drawn but the regions never cut, every
        // confirmation waits for the other region and nothing is in doubt.
        let settings = Settings {
            buyers: 50,
            ..Settings::default()
        };
        let mut world = world::World::new(5, settings);
        world.clear_faults();
        let outcome = world.run();
        assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
        assert_eq!(outcome.confirmed_async, 0);
        assert_eq!(outcome.takeovers, 0);
        assert_eq!(outcome.refunded_conflicts + outcome.reapplied, 0);
        assert!(outcome.confirmed_sync > 20, "{outcome:?}");
    }
}
