//! `ticketctl trip list|search|add`.

use crate::app::App;
use crate::domain::ServiceDate;
use crate::domain::time::to_local_rfc3339;

use super::output::{print_json, table};

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// List trips from a date (default today) for some days.
    List {
        #[arg(long)]
        date: Option<String>,
        #[arg(long, default_value_t = 1)]
        days: u32,
        #[arg(long)]
        json: bool,
    },
    /// Search trips between two stations, with filters, fares, free seats and facet counts.
    Search(Box<super::trip_search::SearchArgs>),
    /// Schedule a trip of a train on a date (creates its seat inventory).
    Add {
        #[arg(long)]
        train: u32,
        #[arg(long)]
        date: String,
    },
}

fn date_or_today(app: &App, date: Option<String>) -> anyhow::Result<ServiceDate> {
    Ok(match date {
        Some(d) => ServiceDate::parse(&d)?,
        None => ServiceDate::today_at(app.now()),
    })
}

impl Cmd {
    pub async fn run(self, app: &App) -> anyhow::Result<()> {
        match self {
            Cmd::List { date, days, json } => {
                let first = date_or_today(app, date)?;
                let last = first.add_days(days.max(1) as i64 - 1);
                let trips = app.trips_between(first, last).await?;
                if json {
                    let rows: Vec<_> = trips
                        .iter()
                        .map(|t| serde_json::json!({"trip_id": t.id, "train": t.train_number, "date": t.date.to_string(),
                            "departs_at": to_local_rfc3339(t.departs_at), "sale_opens_at": to_local_rfc3339(t.sale_opens_at)}))
                        .collect();
                    return print_json(&rows);
                }
                let mut t = table(["trip", "train", "date", "departs", "sale opens"]);
                for trip in &trips {
                    t.add_row(vec![
                        trip.id.to_string(),
                        trip.train_number.to_string(),
                        trip.date.to_string(),
                        to_local_rfc3339(trip.departs_at),
                        to_local_rfc3339(trip.sale_opens_at),
                    ]);
                }
                println!("{t}\n{} trips from {first} to {last}", trips.len());
            }
            Cmd::Search(args) => args.run(app).await?,
            Cmd::Add { train, date } => {
                let date = ServiceDate::parse(&date)?;
                let id = app.schedule_trip(train, date).await?;
                println!("scheduled trip {id}: train {train} on {date}");
            }
        }
        Ok(())
    }
}
