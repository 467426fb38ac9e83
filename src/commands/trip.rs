//! `ticketctl trip list|search|add|cancel|delay|sale-window|coach`.

use crate::app::App;
use crate::domain::ServiceDate;
use crate::domain::time::to_local_rfc3339;

use super::output::{print_json, table};
use super::payment_flags::PaymentFlags;
use crate::app::trip_ops::CancelPace;
use crate::domain::TripId;

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
    /// Cancel a trip: every confirmed order refunded in full through its
    /// payment method, holds released, passengers told. Run it again to
    /// finish a cancellation that was interrupted; nothing is refunded twice.
    Cancel {
        #[arg(long)]
        trip: i64,
        /// Why the train does not run (told to passengers, kept in the audit log).
        #[arg(long)]
        reason: String,
        /// Pause after each refund, in milliseconds, to spare the payment providers.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
        pace_ms: u64,
        #[command(flatten)]
        payments: PaymentFlags,
        #[arg(long)]
        json: bool,
    },
    /// Delay a trip: passengers are told and may cancel with a full refund.
    Delay {
        #[arg(long)]
        trip: i64,
        /// How late the train runs, in minutes (1 to 1440).
        #[arg(long)]
        minutes: i64,
        #[arg(long)]
        reason: String,
    },
    /// Open, close or move the sale window of a trip, or of every trip in a
    /// range of dates (an Eid wave).
    SaleWindow(super::trip_sale::SaleWindowArgs),
    /// Add a coach to one trip, or take a coach out of sale (or back).
    Coach(super::trip_sale::CoachArgs),
}

fn date_or_today(app: &App, date: Option<String>) -> anyhow::Result<ServiceDate> {
    Ok(match date {
        Some(d) => ServiceDate::parse(&d)?,
        None => ServiceDate::today_at(app.now()),
    })
}

/// Who is acting, for the audit log, when staff run a command on the server
/// itself: the operating-system account.
fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli {user}")
}

impl Cmd {
    /// The payment providers this command refunds through, if it refunds.
    pub fn payments(&self) -> Option<&PaymentFlags> {
        match self {
            Cmd::Cancel { payments, .. } => Some(payments),
            _ => None,
        }
    }

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
            Cmd::Cancel {
                trip,
                reason,
                pace_ms,
                json,
                ..
            } => {
                let pace = CancelPace {
                    per_order: std::time::Duration::from_millis(pace_ms),
                };
                let done = app
                    .cancel_trip(TripId(trip), &reason, &cli_actor(), pace)
                    .await?;
                if json {
                    return print_json(&done);
                }
                println!(
                    "trip {} cancelled at {} by {}: {}",
                    done.trip_id, done.cancelled_at, done.actor, done.reason
                );
                println!(
                    "this run: {} orders refunded in full (Tk {}), {} refunds settled, {} holds released",
                    done.orders_refunded,
                    done.amount_refunded,
                    done.refunds_settled,
                    done.holds_released
                );
                if done.finished {
                    println!("every order and hold of the trip is settled");
                } else {
                    println!(
                        "{} orders are still in payment: run this again once they settle",
                        done.orders_in_flight
                    );
                }
            }
            Cmd::Delay {
                trip,
                minutes,
                reason,
            } => {
                let done = app
                    .delay_trip(TripId(trip), minutes, &reason, &cli_actor())
                    .await?;
                println!(
                    "trip {} delayed by {} min: departs {}; {} orders' passengers told",
                    done.trip_id, done.minutes, done.departs_at, done.orders_told
                );
            }
            Cmd::SaleWindow(args) => super::trip_sale::sale_window(app, args, &cli_actor()).await?,
            Cmd::Coach(args) => super::trip_sale::coach(app, args, &cli_actor()).await?,
        }
        Ok(())
    }
}
