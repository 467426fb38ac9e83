//! `ticketctl simulate`, run as a user would: the two-region protocol keeps
//! every invariant on CI's fixed seeds, and each deliberate weakening of it
//! (no fencing epochs; a clock slower than the lease's margin allows) is
//! caught, with a seed that replays the same failure.

use std::process::{Command, Output};

fn simulate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .arg("simulate")
        .args(args)
        .output()
        .expect("run ticketctl simulate")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The figure after `label` on its report line, e.g. "lease takeovers   12".
fn figure(report: &str, label: &str) -> u64 {
    let line = report
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{report}"));
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no figure on {line:?}"))
}

#[test]
fn the_protocol_keeps_every_invariant_on_the_ci_seeds() {
    let out = simulate(&["--schedules", "400"]);
    let report = stdout(&out);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("verdict: OK: no invariant broken in 400 schedules"),
        "{report}"
    );
    // The schedules reached the paths that matter, or the verdict proves little.
    assert!(figure(&report, "lease takeovers") > 100, "{report}");
    assert!(
        report.contains("region isolated") && report.contains("writer pause"),
        "{report}"
    );
    let rows = report
        .lines()
        .find(|l| l.contains("rows in doubt"))
        .unwrap();
    let numbers: Vec<u64> = rows
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(
        numbers[0] > 0 && numbers[1] > 0,
        "re-applied and refunded both happen: {rows}"
    );
    assert!(report.contains("asynchronous"), "{report}");
}

fn first_failure(report: &str) -> (String, String) {
    let line = report
        .lines()
        .find(|l| l.trim_start().starts_with("seed "))
        .unwrap_or_else(|| panic!("no failing seed in:\n{report}"));
    let (seed, violation) = line.trim_start()["seed ".len()..].split_once(": ").unwrap();
    (seed.to_string(), violation.to_string())
}

#[test]
fn without_fencing_epochs_a_seat_is_sold_twice_and_the_seed_replays_it() {
    let out = simulate(&["--schedules", "120", "--sabotage", "no-fence"]);
    let report = stdout(&out);
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("sold a seat-segment twice"), "{report}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("broke an invariant"));
    let (seed, violation) = first_failure(&report);
    assert!(
        report.contains(&format!(
            "replay: ticketctl simulate --seed {seed} --sabotage no-fence"
        )),
        "{report}"
    );
    let replay = simulate(&["--seed", &seed, "--sabotage", "no-fence"]);
    let replayed = stdout(&replay);
    assert!(!replay.status.success(), "{replayed}");
    assert_eq!(first_failure(&replayed), (seed, violation), "{replayed}");
    assert!(
        replayed.contains("faults (writer pauses aside)"),
        "{replayed}"
    );
}

#[test]
fn a_clock_slower_than_the_lease_margin_loses_a_confirmed_order() {
    let out = simulate(&["--schedules", "300", "--sabotage", "clock-skew"]);
    let report = stdout(&out);
    assert!(!out.status.success(), "{report}");
    assert!(
        report.contains("when its lease had run out, is gone"),
        "{report}"
    );
    // The same seeds with clocks inside the margin break nothing.
    let (seed, _) = first_failure(&report);
    let honest = simulate(&["--seed", &seed]);
    assert!(honest.status.success(), "{}", stdout(&honest));
}

#[test]
fn bad_flags_are_refused_with_a_clear_message() {
    for (args, says) in [
        (vec!["--schedules", "0"], "--schedules"),
        (vec!["--buyers", "0"], "--buyers"),
        (vec!["--rtt-ms", "5000"], "--rtt-ms"),
        (
            vec!["--seed", "3", "--schedules", "2"],
            "cannot be used with",
        ),
        (vec!["--sabotage", "chaos"], "invalid value"),
        (
            vec!["--first-seed", "18446744073709551615", "--schedules", "5"],
            "too large",
        ),
    ] {
        let out = simulate(&args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
