//! A diagnostic tally of the SQLite engine's work by call site: how many
//! writer commands and reads each store function sends, how long the writer
//! spends applying them, and how many batches and commits it runs. Off
//! unless `TICKETCTL_WRITER_TALLY=FILE` is set; then FILE is rewritten about
//! once a second with the totals so far.
//!
//! Why: the writer is the one place every booking queues, so "writer commands
//! per booking" (and which call sites send them) is the figure to compare
//! between versions; the closure's type name names its call site for free.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Row {
    writes: u64,
    write_busy: Duration,
    reads: u64,
}

struct Tally {
    path: PathBuf,
    rows: BTreeMap<&'static str, Row>,
    batches: u64,
    commands: u64,
    commit_busy: Duration,
    last_dump: Instant,
}

fn tally() -> Option<&'static Mutex<Tally>> {
    static TALLY: OnceLock<Option<Mutex<Tally>>> = OnceLock::new();
    TALLY
        .get_or_init(|| {
            let path = std::env::var_os("TICKETCTL_WRITER_TALLY")?;
            Some(Mutex::new(Tally {
                path: PathBuf::from(path),
                rows: BTreeMap::new(),
                batches: 0,
                commands: 0,
                commit_busy: Duration::ZERO,
                last_dump: Instant::now(),
            }))
        })
        .as_ref()
}

/// The call site of a closure type: its path up to the first closure.
pub(super) fn label<F>() -> &'static str {
    let name = std::any::type_name::<F>();
    name.split("::{{closure}}").next().unwrap_or(name)
}

pub(super) fn enabled() -> bool {
    tally().is_some()
}

pub(super) fn write_applied(label: &'static str, busy: Duration) {
    if let Some(t) = tally() {
        let mut t = t.lock();
        let row = t.rows.entry(label).or_default();
        row.writes += 1;
        row.write_busy += busy;
    }
}

pub(super) fn read(label: &'static str) {
    if let Some(t) = tally() {
        t.lock().rows.entry(label).or_default().reads += 1;
    }
}

pub(super) fn batch_committed(commands: usize, busy: Duration) {
    if let Some(t) = tally() {
        let mut t = t.lock();
        t.batches += 1;
        t.commands += commands as u64;
        t.commit_busy += busy;
        if t.last_dump.elapsed() >= Duration::from_secs(1) {
            t.last_dump = Instant::now();
            dump(&t);
        }
    }
}

fn dump(t: &Tally) {
    let mut out = format!(
        "batches {} commands {} commit_ms {:.0}\n",
        t.batches,
        t.commands,
        t.commit_busy.as_secs_f64() * 1e3
    );
    for (label, row) in &t.rows {
        out.push_str(&format!(
            "{:>8} {:>8} {:>9.1} {label}\n",
            row.writes,
            row.reads,
            row.write_busy.as_secs_f64() * 1e3
        ));
    }
    let _ = std::fs::write(&t.path, out);
}
