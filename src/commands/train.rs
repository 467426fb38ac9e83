//! `ticketctl train list|show`.

use crate::app::App;
use crate::domain::time::TripTime;

use super::output::{print_json, table};

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// List all trains.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one train's timetable and coaches.
    Show {
        number: u32,
        #[arg(long)]
        json: bool,
    },
}

fn time(t: Option<TripTime>) -> String {
    t.map(|t| t.to_string()).unwrap_or_else(|| "-".into())
}

impl Cmd {
    pub async fn run(self, app: &App) -> anyhow::Result<()> {
        match self {
            Cmd::List { json } => {
                let trains = app.trains().await?;
                if json {
                    let rows: Vec<_> = trains
                        .iter()
                        .map(|r| serde_json::json!({
                            "number": r.train.number, "name": r.train.name,
                            "from": r.train.stops[0].station, "to": r.train.stops.last().map(|s| &s.station),
                            "off_days": r.train.runs_on.off_days(), "seats": r.train.seat_count(),
                        }))
                        .collect();
                    return print_json(&rows);
                }
                let mut t = table([
                    "no", "name", "from", "dep", "to", "arr", "off-day", "stops", "seats",
                ]);
                for r in &trains {
                    let tr = &r.train;
                    let (first, last) = (&tr.stops[0], &tr.stops[tr.stops.len() - 1]);
                    t.add_row(vec![
                        tr.number.to_string(),
                        tr.name.clone(),
                        first.station.to_string(),
                        first.boards_at().to_string(),
                        last.station.to_string(),
                        last.alights_at().to_string(),
                        tr.runs_on.off_days().join(","),
                        tr.stops.len().to_string(),
                        tr.seat_count().to_string(),
                    ]);
                }
                println!("{t}\n{} trains", trains.len());
            }
            Cmd::Show { number, json } => {
                let r = app.train(number).await?;
                let tr = &r.train;
                if json {
                    let stops: Vec<_> = tr
                        .stops
                        .iter()
                        .map(|s| {
                            serde_json::json!({
                        "station": s.station, "arrive": s.arrive.map(|t| t.to_string()),
                        "depart": s.depart.map(|t| t.to_string()), "km": s.km})
                        })
                        .collect();
                    let coaches: Vec<_> = tr.coaches.iter().map(|c| serde_json::json!({
                        "code": c.code, "class": c.class, "seats": c.seats, "layout": c.layout.to_string()})).collect();
                    return print_json(&serde_json::json!({
                        "number": tr.number, "name": tr.name, "name_bn": tr.name_bn,
                        "runs_on": tr.runs_on.names(), "stops": stops, "coaches": coaches}));
                }
                println!(
                    "{} {} — runs {} (off: {})",
                    tr.number,
                    tr.name,
                    tr.runs_on.names().join(" "),
                    tr.runs_on.off_days().join(" ")
                );
                let mut t = table(["#", "station", "arrive", "depart", "km"]);
                for (i, s) in tr.stops.iter().enumerate() {
                    t.add_row(vec![
                        i.to_string(),
                        s.station.to_string(),
                        time(s.arrive),
                        time(s.depart),
                        s.km.to_string(),
                    ]);
                }
                println!("{t}");
                let mut c = table(["coach", "class", "seats", "layout"]);
                for coach in &tr.coaches {
                    c.add_row(vec![
                        coach.code.clone(),
                        coach.class.to_string(),
                        coach.seats.to_string(),
                        coach.layout.to_string(),
                    ]);
                }
                println!("{c}");
            }
        }
        Ok(())
    }
}
