//! Seeding: loads the embedded network and creates trips for the coming days.
//! Idempotent: a second run finds everything in place and changes nothing.

use crate::domain::ServiceDate;
use crate::store::Upsert;

use super::{App, AppError, AppResult, catalog, fixtures};

/// Where seeding reports progress (the CLI draws bars; tests ignore it).
pub trait Progress: Send + Sync {
    fn start(&self, step: &str, total: u64);
    fn advance(&self, n: u64);
    fn finish(&self);
}

/// Progress that goes nowhere.
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct UpsertCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl UpsertCounts {
    fn add(&mut self, u: Upsert) {
        match u {
            Upsert::Inserted => self.inserted += 1,
            Upsert::Updated => self.updated += 1,
            Upsert::Unchanged => self.unchanged += 1,
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeedReport {
    pub stations: UpsertCounts,
    pub trains: UpsertCounts,
    pub fares_changed: u64,
    pub fare_rates_changed: u64,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    pub trips_created: u64,
    pub trips_existing: u64,
    pub seats_created: u64,
}

impl SeedReport {
    pub fn changed_anything(&self) -> bool {
        self.stations.inserted
            + self.stations.updated
            + self.trains.inserted
            + self.trains.updated
            + self.fares_changed
            + self.fare_rates_changed
            + self.trips_created
            > 0
    }
}

impl App {
    /// Loads the network, then creates trips for today and the next `days` days
    /// (Dhaka dates) on the days each train runs.
    pub async fn seed(&self, days: u32, progress: &dyn Progress) -> AppResult<SeedReport> {
        let mut report = self.seed_network(progress).await?;
        let today = ServiceDate::today_at(self.now());
        let dates: Vec<_> = (0..=days as i64).map(|d| today.add_days(d)).collect();
        self.seed_trips(&dates, &mut report, progress).await?;
        Ok(report)
    }

    /// Loads stations, trains, fares and fare rates from the embedded fixtures.
    pub async fn seed_network(&self, progress: &dyn Progress) -> AppResult<SeedReport> {
        let net = fixtures::network().map_err(|e| AppError::Internal(format!("fixtures: {e}")))?;
        let mut report = SeedReport::default();

        progress.start("stations", net.stations.len() as u64);
        for s in &net.stations {
            report.stations.add(self.store.upsert_station(s).await?);
            progress.advance(1);
        }
        progress.finish();

        progress.start("trains", net.trains.len() as u64);
        for t in &net.trains {
            report.trains.add(self.store.upsert_train(t).await?);
            progress.advance(1);
        }
        progress.finish();

        progress.start("fares", net.fares.len() as u64);
        report.fares_changed = self.store.upsert_fares(&net.fares).await? as u64;
        report.fare_rates_changed = self.store.upsert_fare_rates(&net.rates).await? as u64;
        progress.advance(net.fares.len() as u64);
        progress.finish();
        self.catalog.invalidate();
        Ok(report)
    }

    /// Creates the trips of every train that runs on each of `dates`; existing ones are kept.
    pub async fn seed_trips(
        &self,
        dates: &[ServiceDate],
        report: &mut SeedReport,
        progress: &dyn Progress,
    ) -> AppResult<()> {
        report.first_date = dates.first().map(ToString::to_string);
        report.last_date = dates.last().map(ToString::to_string);
        let trains = self.store.list_trains().await?;
        let planned: Vec<_> = dates
            .iter()
            .flat_map(|d| {
                trains
                    .iter()
                    .filter(|t| t.train.runs_on_date(*d))
                    .map(move |t| (t, *d))
            })
            .collect();
        progress.start("trips", planned.len() as u64);
        for (train, date) in planned {
            match catalog::create_trip_for(self, train, date).await? {
                Some(_) => {
                    report.trips_created += 1;
                    report.seats_created += train.train.seat_count() as u64;
                }
                None => report.trips_existing += 1,
            }
            progress.advance(1);
        }
        progress.finish();
        Ok(())
    }
}
