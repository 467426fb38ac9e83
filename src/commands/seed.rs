//! `ticketctl seed`: load the real network and create trips, with progress bars.

use indicatif::{ProgressBar, ProgressStyle};
use parking_lot::Mutex;

use crate::app::App;
use crate::app::seed::{Progress, SeedReport};

use super::output::{print_json, table};

#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// Create trips for today and this many following days.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=60))]
    pub days: u32,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub sale: SaleFlags,
}

/// When the sale of a new trip opens (Bangladesh Railway: 10 days ahead at 08:00).
#[derive(Debug, Clone, clap::Args)]
pub struct SaleFlags {
    /// Days before the service date that a trip's sale opens.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=90))]
    pub sale_days_ahead: u32,
    /// Hour of the day (Dhaka time) at which the sale opens.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(0..=23))]
    pub sale_open_hour: u32,
}

impl SaleFlags {
    pub fn policy(&self) -> crate::domain::SalePolicy {
        crate::domain::SalePolicy {
            days_ahead: self.sale_days_ahead,
            open_hour: self.sale_open_hour,
        }
    }
}

/// Progress bars on standard error; hidden when it is not a terminal.
pub(crate) struct Bars(Mutex<Option<ProgressBar>>);

impl Bars {
    pub(crate) fn new() -> Self {
        Bars(Mutex::new(None))
    }
}

impl Progress for Bars {
    fn start(&self, step: &str, total: u64) {
        let bar = ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{prefix:>9} [{bar:40}] {pos}/{len} {elapsed}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(step.to_owned());
        *self.0.lock() = Some(bar);
    }
    fn advance(&self, n: u64) {
        if let Some(bar) = self.0.lock().as_ref() {
            bar.inc(n);
        }
    }
    fn finish(&self) {
        if let Some(bar) = self.0.lock().take() {
            bar.finish();
        }
    }
}

impl Cmd {
    pub async fn run(&self, app: &App) -> anyhow::Result<()> {
        let report = app.seed(self.days, &Bars::new()).await?;
        if self.json {
            return print_json(&report);
        }
        print_report(&report);
        Ok(())
    }
}

pub(crate) fn print_report(r: &SeedReport) {
    let mut t = table(["what", "inserted", "updated", "unchanged"]);
    t.add_row(vec![
        "stations".to_string(),
        r.stations.inserted.to_string(),
        r.stations.updated.to_string(),
        r.stations.unchanged.to_string(),
    ]);
    t.add_row(vec![
        "trains".to_string(),
        r.trains.inserted.to_string(),
        r.trains.updated.to_string(),
        r.trains.unchanged.to_string(),
    ]);
    t.add_row(vec![
        "fares".to_string(),
        r.fares_changed.to_string(),
        "-".into(),
        "-".into(),
    ]);
    t.add_row(vec![
        "trips".to_string(),
        r.trips_created.to_string(),
        "-".into(),
        r.trips_existing.to_string(),
    ]);
    t.add_row(vec![
        "seats".to_string(),
        r.seats_created.to_string(),
        "-".into(),
        "-".into(),
    ]);
    println!("{t}");
    println!(
        "trips cover {} to {}; {}",
        r.first_date.as_deref().unwrap_or("-"),
        r.last_date.as_deref().unwrap_or("-"),
        if r.changed_anything() {
            "database updated"
        } else {
            "nothing to change: already seeded"
        }
    );
}
