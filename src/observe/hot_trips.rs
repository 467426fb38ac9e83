//! Which trips are "hot": the ones with the most hold attempts lately. Only
//! these get a seats-free series, so the scrape's size stays bounded however
//! many trips are on sale.
//!
//! Demand decays: each refresh halves every count, so a trip that stops
//! selling drops out within a few refreshes. The table itself is bounded too:
//! past `MAX_TRACKED` trips the least wanted are forgotten.

use crate::domain::TripId;
use parking_lot::Mutex;
use std::collections::HashMap;

/// Trips shown with their free seats.
pub const TOP_N: usize = 10;
/// Trips whose demand is remembered at once.
const MAX_TRACKED: usize = 1024;

#[derive(Default)]
pub struct HotTrips {
    demand: Mutex<HashMap<TripId, u64>>,
}

impl HotTrips {
    /// A hold was tried on `trip` (taken or not: both are demand).
    pub fn note(&self, trip: TripId) {
        let mut demand = self.demand.lock();
        if demand.len() >= MAX_TRACKED && !demand.contains_key(&trip) {
            let mut counts: Vec<u64> = demand.values().copied().collect();
            let half = counts.len() / 2;
            let (_, median, _) = counts.select_nth_unstable(half);
            let median = *median;
            demand.retain(|_, n| *n > median);
        }
        *demand.entry(trip).or_insert(0) += 1;
    }

    /// The `TOP_N` trips most in demand, most first (ties by trip id), then
    /// halves every count and forgets trips with none left.
    pub fn top_and_decay(&self) -> Vec<TripId> {
        let mut demand = self.demand.lock();
        let mut ranked: Vec<(TripId, u64)> = demand.iter().map(|(t, n)| (*t, *n)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(TOP_N);
        demand.retain(|_, n| {
            *n /= 2;
            *n > 0
        });
        ranked.into_iter().map(|(t, _)| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[i64]) -> Vec<TripId> {
        v.iter().copied().map(TripId).collect()
    }

    #[test]
    fn the_most_wanted_trips_come_first_and_fade_when_quiet() {
        let hot = HotTrips::default();
        for (trip, n) in [(1, 5), (2, 9), (3, 1)] {
            for _ in 0..n {
                hot.note(TripId(trip));
            }
        }
        assert_eq!(hot.top_and_decay(), ids(&[2, 1, 3]));
        // 9→4, 5→2, 1→0 (forgotten).
        assert_eq!(hot.top_and_decay(), ids(&[2, 1]));
        assert_eq!(hot.top_and_decay(), ids(&[2, 1]));
        assert_eq!(hot.top_and_decay(), ids(&[2]));
        assert!(hot.top_and_decay().is_empty());
    }

    #[test]
    fn at_most_top_n_are_shown_and_the_table_stays_bounded() {
        let hot = HotTrips::default();
        for trip in 0..(MAX_TRACKED as i64 * 3) {
            hot.note(TripId(trip));
            if trip % 7 == 0 {
                hot.note(TripId(trip));
            }
        }
        assert!(hot.demand.lock().len() <= MAX_TRACKED);
        let top = hot.top_and_decay();
        assert_eq!(top.len(), TOP_N);
    }
}
