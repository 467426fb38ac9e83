//! Staff control of what a trip sells: its sale window (closed, opened, or
//! moved, for one trip or every trip of a range of dates: an Eid wave), and
//! coaches added to one trip or taken out of its sale. Seats already sold are
//! never touched here; only new holds are affected.

use chrono::{DateTime, Utc};

use crate::app::{App, AppError, AppResult};
use crate::domain::time::to_local_rfc3339;
use crate::domain::{ParseError, SeatClass, ServiceDate, TripId};
use crate::store::{NewTripCoach, SaleWindowChange};
use crate::wire::trip_ops::{SaleWindowChanged, TripCoachChanged};

/// The longest range of service dates one sale-window change may cover.
pub const MAX_SALE_WINDOW_DAYS: i64 = 62;
/// The most seats a coach added to a trip may have.
pub const MAX_COACH_SEATS: u32 = 120;

/// Which trips a sale-window change is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleTarget {
    Trip(TripId),
    /// Every trip whose service date is within `first..=last`.
    Dates {
        first: ServiceDate,
        last: ServiceDate,
    },
}

impl SaleTarget {
    /// Parses the API's or the command line's choice: a trip, or a range of dates.
    pub fn parse(
        trip: Option<TripId>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> AppResult<SaleTarget> {
        let date = |field: &'static str, s: &str| {
            ServiceDate::parse(s).map_err(|e| ParseError::new(field, e.message))
        };
        match (trip, from, to) {
            (Some(t), None, None) => Ok(SaleTarget::Trip(t)),
            (None, Some(from), Some(to)) => {
                let (first, last) = (date("from", from)?, date("to", to)?);
                if last < first {
                    return Err(ParseError::new("to", "the range ends before it starts").into());
                }
                if first.add_days(MAX_SALE_WINDOW_DAYS - 1) < last {
                    return Err(ParseError::new(
                        "to",
                        format!("at most {MAX_SALE_WINDOW_DAYS} days at once"),
                    )
                    .into());
                }
                Ok(SaleTarget::Dates { first, last })
            }
            _ => Err(ParseError::new(
                "trip_id",
                "give either a trip, or both 'from' and 'to' dates",
            )
            .into()),
        }
    }
}

/// Parses a sale-window action: `open`, `close`, or `move` with `opens_at` (RFC 3339).
pub fn sale_window_change(action: &str, opens_at: Option<&str>) -> AppResult<SaleWindowChange> {
    match (action, opens_at) {
        ("open", None) => Ok(SaleWindowChange::Open),
        ("close", None) => Ok(SaleWindowChange::Close),
        ("move", Some(at)) => {
            let at = DateTime::parse_from_rfc3339(at.trim()).map_err(|_| {
                ParseError::new(
                    "opens_at",
                    format!("'{at}' is not an instant like 2026-03-20T08:00:00+06:00"),
                )
            })?;
            Ok(SaleWindowChange::Move(at.with_timezone(&Utc)))
        }
        ("move", None) => Err(ParseError::new("opens_at", "say when the sale opens").into()),
        ("open" | "close", Some(_)) => {
            Err(ParseError::new("opens_at", "only a move takes a time").into())
        }
        _ => Err(ParseError::new("action", "one of open, close, move").into()),
    }
}

impl App {
    /// Applies `change` to the targeted trips, all or none.
    pub async fn change_sale_window(
        &self,
        target: SaleTarget,
        change: SaleWindowChange,
        actor: &str,
    ) -> AppResult<SaleWindowChanged> {
        let trips: Vec<TripId> = match target {
            SaleTarget::Trip(id) => {
                self.trip_and_train(id).await?;
                vec![id]
            }
            // From the store, not the cache: a trip scheduled a moment ago counts.
            SaleTarget::Dates { first, last } => self
                .store
                .trips_between(first, last)
                .await?
                .iter()
                .map(|t| t.id)
                .collect(),
        };
        self.store
            .change_sale_window(&trips, change, actor, self.now())
            .await?;
        // This process sees the new window at once; others within the catalog's age.
        self.catalog.invalidate();
        let mut opens = Vec::with_capacity(trips.len());
        for id in &trips {
            if let Some(t) = self.store.trip(*id).await? {
                opens.push(to_local_rfc3339(t.sale_opens_at));
            }
        }
        Ok(SaleWindowChanged {
            change: change.describe(),
            trips,
            sale_opens_at: opens,
        })
    }

    /// Takes a coach of a trip out of sale, or puts it back: no new holds on
    /// it while out; what is sold in it stays sold.
    pub async fn set_coach_on_sale(
        &self,
        trip_id: TripId,
        coach: &str,
        on_sale: bool,
        actor: &str,
    ) -> AppResult<TripCoachChanged> {
        self.trip_and_train(trip_id).await?;
        let coach = coach.trim().to_ascii_uppercase();
        let changed = self
            .store
            .set_coach_on_sale(trip_id, &coach, on_sale, actor, self.now())
            .await?;
        Ok(TripCoachChanged {
            trip_id,
            coach,
            on_sale,
            changed,
        })
    }

    /// Adds a coach of `seats` seats of `class` to one trip (the train must
    /// carry the class: fares and search know it from the train).
    pub async fn add_trip_coach(
        &self,
        trip_id: TripId,
        code: &str,
        class: &str,
        seats: u32,
        actor: &str,
    ) -> AppResult<TripCoachChanged> {
        let (_, train) = self.trip_and_train(trip_id).await?;
        let code = code.trim().to_ascii_uppercase();
        if code.is_empty()
            || code.len() > 8
            || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(
                ParseError::new("coach", "1 to 8 letters or digits, like KHA or UMA").into(),
            );
        }
        let class: SeatClass = class
            .parse()
            .map_err(|e: ParseError| ParseError::new("class", e.message))?;
        if !train.classes().contains(&class) {
            return Err(ParseError::new(
                "class",
                format!("train {} carries no {class} coach", train.number),
            )
            .into());
        }
        if !(1..=MAX_COACH_SEATS).contains(&seats) {
            return Err(ParseError::new("seats", format!("1 to {MAX_COACH_SEATS} seats")).into());
        }
        let coach = NewTripCoach {
            code: code.clone(),
            class,
            seats,
        };
        self.store
            .add_trip_coach(trip_id, &coach, actor, self.now())
            .await?;
        self.availability.invalidate(trip_id);
        Ok(TripCoachChanged {
            trip_id,
            coach: code,
            on_sale: true,
            changed: true,
        })
    }

    /// Refuses a sale on a trip staff cancelled or whose sale they closed,
    /// and names the coaches taken out of sale (the seat choice skips them).
    /// Read from the database on every sale, not from a cache: a change made
    /// by another process stops the next hold.
    pub(crate) async fn trip_sale_rules(&self, trip_id: TripId) -> AppResult<Vec<String>> {
        let state = self.store.trip_ops_state(trip_id).await?;
        if let Some(c) = state.cancellation {
            return Err(AppError::Conflict(format!(
                "this trip is cancelled ({}); nothing is sold for it",
                c.reason
            )));
        }
        if state.sale_closed {
            return Err(AppError::Conflict(
                "the sale of this trip is closed for now".into(),
            ));
        }
        Ok(state.coaches_off_sale)
    }
}
