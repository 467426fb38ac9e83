//! `ticketctl trip search`: the API's trip search with the same filters, printed
//! as tables (trips, then facet counts) or as the API's JSON.

use crate::app::App;
use crate::domain::ServiceDate;
use crate::domain::search::SearchQuery;
use crate::wire::catalog::{FacetValue, SearchResult};

use super::output::{print_json, table};

/// Search trips between two stations, with fares, free seats and facet counts.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    #[arg(long)]
    from: String,
    #[arg(long)]
    to: String,
    /// Travel date, YYYY-MM-DD (default today).
    #[arg(long)]
    date: Option<String>,
    /// Also search this many days before and after the date (0 to 7).
    #[arg(long)]
    days: Option<String>,
    /// Only these seat classes (repeat for several), e.g. S_CHAIR.
    #[arg(long = "class")]
    classes: Vec<String>,
    /// Only these trains (repeat for several), e.g. 701.
    #[arg(long = "train")]
    trains: Vec<String>,
    /// Departing at or after HH:MM (Asia/Dhaka).
    #[arg(long)]
    depart_after: Option<String>,
    /// Departing before HH:MM (24:00 for the end of the day).
    #[arg(long)]
    depart_before: Option<String>,
    #[arg(long)]
    arrive_after: Option<String>,
    #[arg(long)]
    arrive_before: Option<String>,
    /// Lowest fare with VAT, in taka.
    #[arg(long)]
    fare_min: Option<String>,
    /// Highest fare with VAT, in taka.
    #[arg(long)]
    fare_max: Option<String>,
    /// At least this many free seats in a class.
    #[arg(long)]
    min_free: Option<String>,
    /// departure (default), duration, fare or seats_free.
    #[arg(long)]
    sort: Option<String>,
    /// asc or desc (default: desc for seats_free, else asc).
    #[arg(long)]
    order: Option<String>,
    #[arg(long)]
    json: bool,
}

impl SearchArgs {
    /// The flags as the API's query pairs, so both refuse the same values.
    fn query(&self, today: ServiceDate) -> anyhow::Result<SearchQuery> {
        let mut pairs: Vec<(String, String)> = vec![
            ("from".into(), self.from.clone()),
            ("to".into(), self.to.clone()),
            (
                "date".into(),
                self.date.clone().unwrap_or_else(|| today.to_string()),
            ),
        ];
        let single = [
            ("days", &self.days),
            ("depart_after", &self.depart_after),
            ("depart_before", &self.depart_before),
            ("arrive_after", &self.arrive_after),
            ("arrive_before", &self.arrive_before),
            ("fare_min", &self.fare_min),
            ("fare_max", &self.fare_max),
            ("min_free", &self.min_free),
            ("sort", &self.sort),
            ("order", &self.order),
        ];
        for (name, value) in single {
            if let Some(v) = value {
                pairs.push((name.into(), v.clone()));
            }
        }
        pairs.extend(self.classes.iter().map(|c| ("class".into(), c.clone())));
        pairs.extend(self.trains.iter().map(|t| ("train".into(), t.clone())));
        // Flag names in errors, as typed: `--fare-max`, not `fare_max`.
        SearchQuery::from_pairs(&pairs)
            .map_err(|e| anyhow::anyhow!("--{}: {}", e.field.replace('_', "-"), e.message))
    }

    pub async fn run(self, app: &App) -> anyhow::Result<()> {
        let query = self.query(ServiceDate::today_at(app.now()))?;
        let result = app.find_trips(&query).await?;
        if self.json {
            return print_json(&result);
        }
        print_trips(&result);
        print_facets(&result);
        Ok(())
    }
}

/// "2026-11-25T16:30:00+06:00" → "16:30" (the date is in the heading or its own column).
fn clock(rfc3339: &str) -> &str {
    rfc3339.get(11..16).unwrap_or(rfc3339)
}

fn print_trips(result: &SearchResult) {
    let dates = if result.first_date == result.last_date {
        result.date.clone()
    } else {
        format!("{} to {}", result.first_date, result.last_date)
    };
    println!("{} → {} on {dates}", result.from.name, result.to.name);
    let mut t = table([
        "trip", "train", "date", "departs", "arrives", "class", "fare", "VAT", "total", "free",
    ]);
    for o in &result.trips {
        for (i, c) in o.classes.iter().enumerate() {
            let first = i == 0;
            let cell = |s: String| if first { s } else { String::new() };
            t.add_row(vec![
                cell(o.trip_id.to_string()),
                cell(format!("{} {}", o.train.number, o.train.name)),
                cell(o.departs.get(..10).unwrap_or_default().to_string()),
                cell(clock(&o.departs).to_string()),
                cell(clock(&o.arrives).to_string()),
                c.class.to_string(),
                c.fare.to_string(),
                c.vat.to_string(),
                c.total.to_string(),
                c.seats_free.to_string(),
            ]);
        }
    }
    println!("{t}\n{} trains", result.trips.len());
}

fn print_facets(result: &SearchResult) {
    let list = |values: &[FacetValue]| {
        values
            .iter()
            .map(|v| format!("{} {}", v.value, v.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let f = &result.facets;
    let mut t = table(["facet", "trips per value"]);
    t.add_row(vec!["class".to_string(), list(&f.class)]);
    t.add_row(vec!["train".to_string(), list(&f.train)]);
    t.add_row(vec!["departs".to_string(), list(&f.departure)]);
    t.add_row(vec!["arrives".to_string(), list(&f.arrival)]);
    t.add_row(vec!["date".to_string(), list(&f.date)]);
    println!("{t}");
}
