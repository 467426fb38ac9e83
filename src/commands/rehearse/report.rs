//! The rehearsal's report: figures from one run, the invariants verdict, and
//! how they are printed (a table for people, JSON for scripts).

use serde::Serialize;
use std::collections::BTreeMap;

use crate::rehearse::stats::{self, Outcome, StepStats};
use crate::rehearse::{Run, status_counts};

use super::config::RehearsalConfig;

use super::super::output::table;

#[derive(Debug, Serialize)]
pub(super) struct Report {
    pub(super) machine: String,
    pub(super) backend: String,
    pub(super) passengers: usize,
    pub(super) concurrency: usize,
    pub(super) duration_s: f64,
    pub(super) requests: u64,
    pub(super) requests_per_s: f64,
    pub(super) bookings: u64,
    pub(super) bookings_per_s: f64,
    /// When the last booking completed (s from the start); once the seats are
    /// gone the rest of the crowd only learns it is sold out.
    pub(super) last_booking_s: Option<f64>,
    /// Bookings per second until the last booking.
    pub(super) bookings_per_s_while_selling: Option<f64>,
    pub(super) seats_booked: u64,
    /// All seats of tomorrow's trips; known only with database access.
    pub(super) seats_for_sale: Option<i64>,
    pub(super) outcomes: BTreeMap<Outcome, u64>,
    pub(super) statuses: Vec<(u16, u64)>,
    pub(super) steps: Vec<StepStats>,
    /// The waiting room: how long admitted passengers waited.
    pub(super) queue_waits: Option<stats::QueueWaits>,
    /// Join, status and leave requests, and their rate while anyone was in the room.
    pub(super) room_requests: Option<u64>,
    pub(super) room_requests_per_s: Option<f64>,
    /// Passengers, requests and bookings per server (several with repeated --server).
    pub(super) servers: Vec<crate::rehearse::ServerTally>,
    /// Peak resident memory of this process (the embedded server and the load generator).
    pub(super) peak_rss_mb: Option<u64>,
    pub(super) invariants: Option<Verdict>,
    pub(super) baseline_bookings_per_s: Option<f64>,
    pub(super) server_to_baseline: Option<f64>,
    pub(super) timeline: Vec<stats::Second>,
}

#[derive(Debug, Serialize)]
pub(super) struct Verdict {
    pub(super) ok: bool,
    pub(super) no_seat_segment_sold_twice: bool,
    pub(super) tickets_equal_confirmed_passengers: bool,
    pub(super) charges_equal_confirmed_totals: bool,
    /// What our orders say we kept, and what cards, wallets and cash say they took.
    pub(super) money: crate::store::Ledger,
    pub(super) seats_checked: usize,
    pub(super) detail: Vec<String>,
}

impl Report {
    /// The figures of one run; the invariants and the baseline are added by
    /// whoever has database access.
    pub(super) fn from_run(cfg: &RehearsalConfig, backend: String, result: &Run) -> Report {
        let requests = result.samples.len() as u64;
        let secs = result.elapsed.as_secs_f64();
        let mut outcomes = BTreeMap::new();
        for o in &result.outcomes {
            *outcomes.entry(*o).or_insert(0) += 1;
        }
        let bookings = outcomes.get(&Outcome::Booked).copied().unwrap_or(0);
        let last_booking_ms = result.booked_at_ms.iter().max().copied();
        Report {
            machine: machine(),
            backend,
            passengers: cfg.passengers,
            concurrency: cfg.concurrency,
            duration_s: (secs * 100.0).round() / 100.0,
            requests,
            requests_per_s: (requests as f64 / secs).round(),
            bookings,
            bookings_per_s: (bookings as f64 / secs).round(),
            last_booking_s: last_booking_ms.map(|ms| (ms as f64 / 10.0).round() / 100.0),
            bookings_per_s_while_selling: last_booking_ms
                .map(|ms| (bookings as f64 * 1000.0 / ms.max(1) as f64).round()),
            seats_booked: result.seats_booked,
            seats_for_sale: None,
            outcomes,
            statuses: status_counts(&result.samples),
            steps: stats::per_step(&result.samples),
            queue_waits: stats::queue_waits(&result.queue_waits_ms),
            room_requests: stats::room_rate(&result.samples).map(|(n, _)| n),
            room_requests_per_s: stats::room_rate(&result.samples).map(|(_, r)| r.round()),
            servers: result.per_server.clone(),
            peak_rss_mb: cfg.server.is_embedded().then(peak_rss_mb).flatten(),
            invariants: None,
            baseline_bookings_per_s: None,
            server_to_baseline: None,
            timeline: stats::timeline(&result.samples, &result.booked_at_ms),
        }
    }
}

/// The process's peak resident set (VmHWM), in MiB, where /proc tells it.
fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

pub(super) fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    format!("{cores} cores, {mem_gib:.0} GiB, load generator on the same machine")
}

pub(super) fn print_report(r: &Report, chart: &std::path::Path) {
    println!(
        "\nRehearsal of an Eid sale: {} passengers, {} at once, {} backend; {}",
        r.passengers, r.concurrency, r.backend, r.machine
    );
    let mut t = table([
        "step", "requests", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms",
    ]);
    for s in &r.steps {
        t.add_row(vec![
            s.step.to_string(),
            s.requests.to_string(),
            s.errors.to_string(),
            s.p50_ms.to_string(),
            s.p90_ms.to_string(),
            s.p99_ms.to_string(),
            s.max_ms.to_string(),
        ]);
    }
    println!("{t}");
    if r.servers.len() > 1 {
        let mut per = table(["server", "passengers", "requests", "bookings", "5xx/failed"]);
        for tally in &r.servers {
            per.add_row(vec![
                tally.base_url.clone(),
                tally.passengers.to_string(),
                tally.requests.to_string(),
                tally.bookings.to_string(),
                tally.unexpected.to_string(),
            ]);
        }
        println!("{per}");
    }
    let mut s = table(["figure", "value"]);
    let row = |s: &mut comfy_table::Table, k: &str, v: String| {
        s.add_row(vec![k.to_string(), v]);
    };
    row(&mut s, "duration", format!("{} s", r.duration_s));
    row(
        &mut s,
        "requests",
        format!("{} ({}/s)", r.requests, r.requests_per_s),
    );
    row(
        &mut s,
        "completed bookings",
        format!("{} ({}/s)", r.bookings, r.bookings_per_s),
    );
    if let (Some(at), Some(rate)) = (r.last_booking_s, r.bookings_per_s_while_selling) {
        row(
            &mut s,
            "last booking",
            format!("at {at} s ({rate} bookings/s until then)"),
        );
    }
    row(
        &mut s,
        "seats booked / all seats tomorrow",
        match r.seats_for_sale {
            Some(all) => format!("{} / {all}", r.seats_booked),
            None => format!("{} / unknown (no database access)", r.seats_booked),
        },
    );
    for (outcome, n) in &r.outcomes {
        row(
            &mut s,
            &format!(
                "passengers: {}",
                serde_json::to_value(outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
            n.to_string(),
        );
    }
    row(
        &mut s,
        "HTTP statuses",
        r.statuses
            .iter()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let Some(q) = &r.queue_waits {
        row(
            &mut s,
            "queue wait p50 / p90 / p99 / max",
            format!(
                "{} / {} / {} / {} ms ({} admitted)",
                q.p50_ms, q.p90_ms, q.p99_ms, q.max_ms, q.admitted
            ),
        );
    }
    if let (Some(n), Some(rate)) = (r.room_requests, r.room_requests_per_s) {
        row(
            &mut s,
            "waiting room requests",
            format!("{n} join/status/leave ({rate}/s while anyone waited)"),
        );
    }
    if let Some(mb) = r.peak_rss_mb {
        row(
            &mut s,
            "peak RSS (server + load generator)",
            format!("{mb} MiB"),
        );
    }
    if let Some(b) = r.baseline_bookings_per_s {
        row(&mut s, "raw-storage baseline", format!("{b} bookings/s"));
        row(
            &mut s,
            "server / baseline",
            format!("{:.1} %", r.server_to_baseline.unwrap_or(0.0) * 100.0),
        );
    }
    println!("{s}");
    match &r.invariants {
        Some(v) => {
            let mark = |ok: bool| if ok { "OK" } else { "VIOLATED" };
            println!("invariants: {}", mark(v.ok));
            println!(
                "  no seat-segment held or sold twice ({} seats checked): {}",
                v.seats_checked,
                mark(v.no_seat_segment_sold_twice)
            );
            println!(
                "  one valid ticket per confirmed passenger, none stray: {}",
                mark(v.tickets_equal_confirmed_passengers)
            );
            println!(
                "  money taken = confirmed totals − refunds: {}",
                mark(v.charges_equal_confirmed_totals)
            );
            let m = &v.money;
            println!(
                "    taken: cards Tk {} + wallets Tk {} + cash Tk {} = Tk {}; orders say Tk {}",
                m.card_net, m.wallet_net, m.cash_net, m.gateway_net, m.orders_net
            );
        }
        None => println!(
            "invariants: not checked (give --use-database with --database-url to check a remote server's database)"
        ),
    }
    println!("chart: {}", chart.display());
}
