//! `ticketctl simulate`: runs seeded schedules of the two-region protocol
//! (docs/multi-region.md) against its model and checks the invariants after
//! each; a failing seed replays exactly with `--seed`.

use std::time::Instant;

use crate::sim::{self, Sabotage, Settings};

#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// How many schedules to run.
    #[arg(long, default_value_t = 1000)]
    pub schedules: u64,
    /// The first schedule's seed; the others follow it.
    #[arg(long, default_value_t = 1)]
    pub first_seed: u64,
    /// Run this one schedule only (to replay a failure) and say what it did.
    #[arg(long, conflicts_with_all = ["schedules", "first_seed"])]
    pub seed: Option<u64>,
    /// Weaken the protocol on purpose, to see the checks catch it.
    #[arg(long, value_enum, default_value = "none")]
    pub sabotage: Sabotage,
    /// Buyers per schedule.
    #[arg(long, default_value_t = 240)]
    pub buyers: usize,
    /// Round trip between the regions and to the witness, in milliseconds.
    #[arg(long, default_value_t = 8)]
    pub rtt_ms: u64,
}

impl Cmd {
    pub fn run(self) -> anyhow::Result<()> {
        if !(1..=10_000_000).contains(&self.schedules) {
            anyhow::bail!("--schedules: give 1 to 10000000");
        }
        if !(1..=100_000).contains(&self.buyers) {
            anyhow::bail!("--buyers: give 1 to 100000");
        }
        if !(1..=1_000).contains(&self.rtt_ms) {
            anyhow::bail!("--rtt-ms: give 1 to 1000");
        }
        let settings = Settings {
            buyers: self.buyers,
            rtt_ms: self.rtt_ms,
            sabotage: self.sabotage,
            ..Settings::default()
        };
        let (first, count) = match self.seed {
            Some(seed) => (seed, 1),
            None => (self.first_seed, self.schedules),
        };
        let last = first
            .checked_add(count - 1)
            .ok_or_else(|| anyhow::anyhow!("--first-seed: too large for that many schedules"))?;
        let started = Instant::now();
        let summary = sim::run_many(first, count, &settings);
        if let Some(seed) = self.seed {
            println!("schedule {seed}: faults (writer pauses aside)");
            for fault in sim::run(seed, &settings).faults {
                println!("  {}", describe(&fault));
            }
        }
        let took = started.elapsed().as_secs_f64();
        print!("{}", report(&summary, first, last, self.sabotage, took));
        if summary.failures.is_empty() {
            return Ok(());
        }
        for (seed, violation) in summary.failures.iter().take(10) {
            println!("  seed {seed}: {violation}");
        }
        let (seed, _) = summary.failures[0];
        let sabotage = match self.sabotage {
            Sabotage::None => String::new(),
            Sabotage::NoFence => " --sabotage no-fence".into(),
            Sabotage::ClockSkew => " --sabotage clock-skew".into(),
        };
        println!("replay: ticketctl simulate --seed {seed}{sabotage}");
        anyhow::bail!(
            "{} of {} schedules broke an invariant",
            summary.failures.len(),
            summary.schedules
        )
    }
}

fn report(s: &sim::Summary, first: u64, last: u64, sabotage: Sabotage, secs: f64) -> String {
    let kinds: Vec<String> = s
        .faults_by_kind
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    let sabotage = match sabotage {
        Sabotage::None => "none",
        Sabotage::NoFence => "no fencing epochs",
        Sabotage::ClockSkew => "clock skew beyond the lease margin",
    };
    let verdict = if s.failures.is_empty() {
        format!("OK: no invariant broken in {} schedules", s.schedules)
    } else {
        format!(
            "FAILED in {} of {} schedules",
            s.failures.len(),
            s.schedules
        )
    };
    format!(
        "simulated {} schedules of the two-region protocol (seeds {first}..={last}, sabotage: {sabotage}) in {secs:.1} s\n\
         \x20 faults injected   {} ({})\n\
         \x20 lease takeovers   {}\n\
         \x20 confirmations     {} synchronous, {} asynchronous\n\
         \x20 rows in doubt     {} re-applied at the new home, {} refunded (seats resold meanwhile)\n\
         \x20 events, messages  {}, {}\n\
         \x20 invariant checks  {}\n\
         verdict: {verdict}\n",
        s.schedules,
        s.faults,
        kinds.join(", "),
        s.takeovers,
        s.confirmed_sync,
        s.confirmed_async,
        s.reapplied,
        s.refunded_conflicts,
        s.events,
        s.messages,
        s.checks,
    )
}

fn describe(fault: &sim::Fault) -> String {
    let whom = match fault.kind {
        sim::FaultKind::WitnessLink(r) | sim::FaultKind::Isolated(r) | sim::FaultKind::Crash(r) => {
            format!(" ({})", r.name())
        }
        sim::FaultKind::RegionLink | sim::FaultKind::SlowLink => String::new(),
    };
    format!(
        "{:>6.1} s to {:>6.1} s  {}{whom}",
        fault.from as f64 / 1000.0,
        fault.until as f64 / 1000.0,
        fault.kind.name()
    )
}
