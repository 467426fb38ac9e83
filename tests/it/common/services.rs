//! Tests that need an outside service (Postgres, Redis, NATS, tmux): one rule
//! for when they may skip, skips that show in a plain `cargo test`, and a count
//! of what ran.
//!
//! - `CI=true` or `CI=1` makes an unreachable service fatal ([`in_ci`]).
//! - A service that is reachable is always used: only a failed connection or a
//!   missing program skips.
//! - libtest captures `println!`/`eprintln!` of passing tests, so a skip writes
//!   straight to the process's stderr, where `cargo test` shows it.
//! - Once every service case of this run has started (the run's own test list,
//!   filters included, is read from `<test binary> <same args> --list`), one
//!   line says how many ran and how many were skipped, per service. A test
//!   may need two services (a Redis room on Postgres); it counts for each, and
//!   when it skips for want of one it counts as skipped for the others too.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Mutex, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    Postgres,
    Redis,
    Nats,
    Tmux,
    /// Headless Chromium and chromedriver (the web app's browser tests).
    Chromium,
}

const ALL: [Service; 5] = [
    Service::Postgres,
    Service::Redis,
    Service::Nats,
    Service::Tmux,
    Service::Chromium,
];

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Postgres => "postgres",
            Service::Redis => "redis",
            Service::Tmux => "tmux",
            Service::Nats => "nats",
            Service::Chromium => "chromium",
        }
    }

    /// Whether a test needs this service, by the naming rule every service
    /// test follows: a `postgres`, `redis` or `nats` path segment or name part,
    /// or the `tui_tmux` module.
    fn needed_by(self, test: &str) -> bool {
        match self {
            Service::Postgres => test.contains("postgres"),
            Service::Redis => test.contains("redis"),
            Service::Tmux => test.contains("tui_tmux::"),
            Service::Nats => test.contains("nats"),
            Service::Chromium => test.contains("browser"),
        }
    }

    /// The services a test needs, by the naming rule.
    pub fn of_test(name: &str) -> Vec<Service> {
        ALL.into_iter().filter(|s| s.needed_by(name)).collect()
    }
}

/// True when the environment says this is CI (`CI=true` or `CI=1`): then a
/// service test must run, and an unreachable service is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| {
        let v = v.trim();
        v == "1" || v.eq_ignore_ascii_case("true")
    })
}

#[derive(Default)]
struct Tally {
    ran: BTreeMap<Service, BTreeSet<String>>,
    skipped: BTreeMap<Service, BTreeSet<String>>,
    reported: bool,
}

static TALLY: Mutex<Option<Tally>> = Mutex::new(None);

/// The name libtest gave the running test (its thread's name).
fn current_test() -> String {
    std::thread::current().name().unwrap_or("main").to_owned()
}

/// Records that the current test uses `service`.
pub fn ran(service: Service) {
    record(service, false);
}

/// Skips the current test for want of `service` (fatal in CI), visibly. The
/// other services the test needs are not used either: they count as skipped.
pub fn skip(service: Service, reason: &str) {
    let test = current_test();
    assert!(
        !in_ci(),
        "CI is set but {} is not available for {test}: {reason}",
        service.name()
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIP {}: {test}: {reason} (set CI=1 to make this fatal)",
        service.name()
    );
    record(service, true);
    for other in Service::of_test(&test) {
        if other != service {
            record(other, true);
        }
    }
}

fn record(service: Service, skipped: bool) {
    let test = current_test();
    // The count relies on the naming rule (`Service::of_test`): a service test
    // named otherwise would run uncounted, so it fails here instead.
    assert!(
        test == "main" || service.needed_by(&test),
        "{test} uses {} but its name does not say so; put it in a `{0}` module or end its name in `_{0}`",
        service.name()
    );
    // A panicking test must not hide the others' counts: recover from poison.
    let mut guard = TALLY.lock().unwrap_or_else(|p| p.into_inner());
    let tally = guard.get_or_insert_with(Tally::default);
    let already = |m: &BTreeMap<Service, BTreeSet<String>>| {
        m.get(&service).is_some_and(|set| set.contains(&test))
    };
    if already(&tally.ran) || already(&tally.skipped) {
        return;
    }
    let set = if skipped {
        &mut tally.skipped
    } else {
        &mut tally.ran
    };
    set.entry(service).or_default().insert(test);
    let Some(expected) = expected_service_tests() else {
        return;
    };
    let seen: usize = tally
        .ran
        .values()
        .chain(tally.skipped.values())
        .map(BTreeSet::len)
        .sum();
    if !tally.reported && seen >= *expected {
        tally.reported = true;
        let line = summary(tally);
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

fn summary(tally: &Tally) -> String {
    let parts: Vec<String> = ALL
        .into_iter()
        .map(|s| {
            let n = |m: &BTreeMap<Service, BTreeSet<String>>| m.get(&s).map_or(0, BTreeSet::len);
            format!(
                "{} {} ran, {} skipped",
                s.name(),
                n(&tally.ran),
                n(&tally.skipped)
            )
        })
        .collect();
    format!("SERVICE TESTS: {}", parts.join("; "))
}

/// How many (test, service) uses this run has: from this binary's own test
/// list for the same arguments (so a filtered run expects only what it selected).
fn expected_service_tests() -> Option<&'static usize> {
    static EXPECTED: OnceLock<Option<usize>> = OnceLock::new();
    EXPECTED
        .get_or_init(|| {
            let exe = std::env::current_exe().ok()?;
            let args: Vec<String> = std::env::args().skip(1).collect();
            let out = std::process::Command::new(exe)
                .args(&args)
                .arg("--list")
                .output()
                .ok()?;
            let listed = String::from_utf8_lossy(&out.stdout);
            Some(
                listed
                    .lines()
                    .filter_map(|l| l.strip_suffix(": test"))
                    .map(|name| Service::of_test(name).len())
                    .sum(),
            )
        })
        .as_ref()
}
