//! `ticketctl trip sale-window|coach`: staff control of what trips sell. The
//! flags are parsed here; the rules are `app::trip_sale`'s.

use crate::app::App;
use crate::app::trip_sale::{SaleTarget, sale_window_change};
use crate::domain::TripId;

use super::output::print_json;

/// `trip sale-window`: one trip, or every trip of a range of dates.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["open", "close", "opens_at"])))]
pub struct SaleWindowArgs {
    /// The trip (or give --from and --to).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub trip: Option<i64>,
    /// First service date of the range, YYYY-MM-DD.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Last service date of the range, YYYY-MM-DD (at most 62 days after --from).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Open the sale now (lifting a closure).
    #[arg(long)]
    pub open: bool,
    /// Close the sale: no new holds or orders until it is opened again.
    #[arg(long)]
    pub close: bool,
    /// Move the opening to this instant (RFC 3339, e.g. 2026-03-20T08:00:00+06:00).
    #[arg(long)]
    pub opens_at: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// `trip coach`: add a coach to one trip, or take one out of sale or back.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["add", "off_sale", "on_sale"])))]
pub struct CoachArgs {
    #[arg(long)]
    pub trip: i64,
    /// Add a coach with this code (with --class and --seats).
    #[arg(long, requires_all = ["class", "seats"])]
    pub add: Option<String>,
    /// The added coach's seat class (one the train carries), e.g. S_CHAIR.
    #[arg(long)]
    pub class: Option<String>,
    /// The added coach's number of seats.
    #[arg(long)]
    pub seats: Option<u32>,
    /// Take this coach out of sale: no new holds on it, sold seats untouched.
    #[arg(long)]
    pub off_sale: Option<String>,
    /// Put this coach back on sale.
    #[arg(long)]
    pub on_sale: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub async fn sale_window(app: &App, a: SaleWindowArgs, actor: &str) -> anyhow::Result<()> {
    let target = SaleTarget::parse(a.trip.map(TripId), a.from.as_deref(), a.to.as_deref())?;
    let action = match (a.open, a.close) {
        (true, _) => "open",
        (_, true) => "close",
        _ => "move",
    };
    let change = sale_window_change(action, a.opens_at.as_deref())?;
    let done = app.change_sale_window(target, change, actor).await?;
    if a.json {
        return print_json(&done);
    }
    for (trip, opens) in done.trips.iter().zip(&done.sale_opens_at) {
        println!("trip {trip}: {}; sale opens {opens}", done.change);
    }
    println!("{} trips changed", done.trips.len());
    Ok(())
}

pub async fn coach(app: &App, a: CoachArgs, actor: &str) -> anyhow::Result<()> {
    let trip = TripId(a.trip);
    let done = match (&a.add, &a.off_sale, &a.on_sale) {
        (Some(code), None, None) => {
            let class = a.class.as_deref().unwrap_or_default();
            let seats = a.seats.unwrap_or_default();
            app.add_trip_coach(trip, code, class, seats, actor).await?
        }
        (None, Some(code), None) => app.set_coach_on_sale(trip, code, false, actor).await?,
        (None, None, Some(code)) => app.set_coach_on_sale(trip, code, true, actor).await?,
        _ => anyhow::bail!("give one of --add, --off-sale, --on-sale"),
    };
    if a.json {
        return print_json(&done);
    }
    let state = if done.on_sale {
        "on sale"
    } else {
        "out of sale"
    };
    let note = if done.changed { "" } else { " (already so)" };
    match a.add {
        Some(_) => println!("trip {trip}: coach {} added, {state}", done.coach),
        None => println!("trip {trip}: coach {} {state}{note}", done.coach),
    }
    Ok(())
}
