//! Measurements of a rehearsal: latency histograms per step (HDR, microseconds)
//! and a per-second timeline for the chart.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

/// The steps a simulated passenger takes, by index (the waiting room's are optional).
pub const STEPS: [&str; 14] = [
    "search", "seat_map", "hold", "release", "card", "order", "ticket", "join", "status", "leave",
    "gateway", "wallet", "paid?", "facets",
];
/// Waiting-room steps, by index into `STEPS`.
pub const JOIN: usize = 7;
pub const STATUS: usize = 8;
pub const LEAVE: usize = 9;
/// Tokenizing the card at the card gateway (before `card` registers the token).
pub const GATEWAY: usize = 10;
/// Approving a wallet payment on the provider's page.
pub const WALLET: usize = 11;
/// Asking whether an order awaiting its wallet payment was settled.
pub const PAID: usize = 12;
/// A filtered, sorted search with facet counts (browsing before the plain search).
pub const FACETS: usize = 13;

/// One request: which step, when it finished (ms since start), how long it took, its status.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub step: usize,
    pub at_ms: u64,
    pub micros: u64,
    pub status: u16,
}

/// What happened to one passenger in the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Booked,
    SoldOut,
    LostRace,
    Abandoned,
    Declined,
    TimedOut,
    /// Waited in the queue longer than a passenger would.
    GaveUp,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepStats {
    pub step: &'static str,
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Second {
    pub second: u64,
    pub requests: u64,
    pub bookings: u64,
    pub p99_ms: f64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid bounds")
}

fn ms(us: u64) -> f64 {
    (us as f64 / 1000.0 * 100.0).round() / 100.0
}

/// Per-step statistics. A status counts as an error when it is a 5xx or no answer (0);
/// 4xx answers (409 conflicts, 402 declines) are expected outcomes of a sale.
pub fn per_step(samples: &[Sample]) -> Vec<StepStats> {
    STEPS
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let mut h = histogram();
            let mut errors = 0;
            for s in samples.iter().filter(|s| s.step == i) {
                h.saturating_record(s.micros.max(1));
                errors += u64::from(s.status == 0 || s.status >= 500);
            }
            (!h.is_empty()).then(|| StepStats {
                step: name,
                requests: h.len(),
                errors,
                p50_ms: ms(h.value_at_quantile(0.50)),
                p90_ms: ms(h.value_at_quantile(0.90)),
                p99_ms: ms(h.value_at_quantile(0.99)),
                max_ms: ms(h.max()),
            })
        })
        .collect()
}

/// Requests, completed bookings and p99 latency for each second of the run.
pub fn timeline(samples: &[Sample], booked_at_ms: &[u64]) -> Vec<Second> {
    let mut seconds: BTreeMap<u64, (u64, u64, Histogram<u64>)> = BTreeMap::new();
    for s in samples {
        let e = seconds
            .entry(s.at_ms / 1000)
            .or_insert_with(|| (0, 0, histogram()));
        e.0 += 1;
        e.2.saturating_record(s.micros.max(1));
    }
    for at in booked_at_ms {
        seconds
            .entry(at / 1000)
            .or_insert_with(|| (0, 0, histogram()))
            .1 += 1;
    }
    seconds
        .into_iter()
        .map(|(second, (requests, bookings, h))| Second {
            second,
            requests,
            bookings,
            p99_ms: if !h.is_empty() {
                ms(h.value_at_quantile(0.99))
            } else {
                0.0
            },
        })
        .collect()
}

/// A two-panel SVG chart: bookings per second, and p99 request latency per second.
pub fn svg_chart(title: &str, timeline: &[Second]) -> String {
    let (w, h, pad) = (760.0, 220.0, 48.0);
    let n = timeline.len().max(2) as f64;
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (n - 1.0);
    let panel = |top: f64, label: &str, values: Vec<f64>, color: &str| {
        let max = values.iter().cloned().fold(1.0_f64, f64::max);
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                format!(
                    "{:.1},{:.1}",
                    x(i),
                    top + h - pad - (h - 2.0 * pad) * v / max
                )
            })
            .collect();
        format!(
            r##"<text x="{pad}" y="{ty}" font-size="13">{label} (max {max:.0})</text>
<line x1="{pad}" y1="{base}" x2="{right}" y2="{base}" stroke="#999"/>
<line x1="{pad}" y1="{peak}" x2="{pad}" y2="{base}" stroke="#999"/>
<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>
<text x="{right}" y="{below}" font-size="11" text-anchor="end">{secs} s</text>"##,
            ty = top + pad - 14.0,
            base = top + h - pad,
            peak = top + pad,
            right = w - pad,
            below = top + h - pad + 14.0,
            secs = timeline.len(),
            pts = points.join(" "),
        )
    };
    let bookings = panel(
        30.0,
        "completed bookings per second",
        timeline.iter().map(|s| s.bookings as f64).collect(),
        "#1b7f3b",
    );
    let p99 = panel(
        30.0 + h,
        "p99 request latency per second, ms",
        timeline.iter().map(|s| s.p99_ms).collect(),
        "#b03a2e",
    );
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{total}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="{pad}" y="20" font-size="15" font-weight="bold">{title}</text>
{bookings}
{p99}
</svg>
"##,
        total = 2.0 * h + 40.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_errors_per_step() {
        let samples: Vec<Sample> = (1..=100)
            .map(|i| Sample {
                step: 2,
                at_ms: i * 10,
                micros: i * 1000,
                status: if i == 100 { 503 } else { 201 },
            })
            .collect();
        let stats = per_step(&samples);
        assert_eq!(stats.len(), 1);
        assert_eq!(
            (stats[0].step, stats[0].requests, stats[0].errors),
            ("hold", 100, 1)
        );
        assert!((stats[0].p50_ms - 50.0).abs() < 0.5, "{:?}", stats[0]);
        assert!((stats[0].max_ms - 100.0).abs() < 0.5);
        let t = timeline(&samples, &[150, 1500]);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].requests, t[0].bookings), (99, 1));
        assert!(svg_chart("x", &t).contains("<polyline"));
    }

    #[test]
    fn room_rate_counts_only_the_rooms_steps() {
        let at = |step, at_ms| Sample {
            step,
            at_ms,
            micros: 1000,
            status: 200,
        };
        let samples = [
            at(JOIN, 1),
            at(STATUS, 500),
            at(GATEWAY, 900),
            at(FACETS, 1500),
        ];
        assert_eq!(room_rate(&samples), Some((2, 4.0)));
        assert_eq!(room_rate(&[at(GATEWAY, 10), at(PAID, 20)]), None);
    }
}

/// How long admitted passengers waited in the queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueWaits {
    pub admitted: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub fn queue_waits(waits_ms: &[u64]) -> Option<QueueWaits> {
    let mut h = histogram();
    for w in waits_ms {
        h.saturating_record(w.saturating_mul(1000).max(1));
    }
    (!h.is_empty()).then(|| QueueWaits {
        admitted: h.len(),
        p50_ms: ms(h.value_at_quantile(0.50)),
        p90_ms: ms(h.value_at_quantile(0.90)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        max_ms: ms(h.max()),
    })
}

/// Waiting-room requests (join, status, leave) per second while anyone was in
/// the room: from its first request to its last.
pub fn room_rate(samples: &[Sample]) -> Option<(u64, f64)> {
    let room = samples.iter().filter(|s| (JOIN..=LEAVE).contains(&s.step));
    let (mut n, mut first, mut last) = (0u64, u64::MAX, 0u64);
    for s in room {
        n += 1;
        first = first.min(s.at_ms.saturating_sub(s.micros / 1000));
        last = last.max(s.at_ms);
    }
    (n > 0).then(|| (n, n as f64 * 1000.0 / (last - first).max(1) as f64))
}
