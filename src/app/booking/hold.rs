//! The hold step: choosing seats for a journey and holding them until the TTL
//! passes, and viewing or releasing a hold.
//!
//! May not place orders or move money; which seats to ask for is decided in
//! `seat_choice`, which gates apply in `channel`.

use std::net::IpAddr;

use crate::app::catalog::station_in;
use crate::app::{App, AppError, AppResult};
use crate::domain::time::to_local_rfc3339;
use crate::domain::trip::{SaleState, sale_state};
use crate::domain::{Hold, HoldId, ParseError, SeatCap, SeatClass, Train, UserId, journey_fare};
use crate::store::{NewHold, StoreError};

use super::channel::Channel;
use super::seat_choice::seats_for_hold;
use crate::wire::booking::{HoldRequest, HoldView};

/// How often a hold chooses seats: a count-based hold that loses a race for its
/// seats chooses again from a fresh read, so a buyer hears "sold out" only when
/// a fresh read shows too few seats (4 tries gave false refusals on Postgres
/// in a wave of 300 buyers).
const HOLD_ATTEMPTS: usize = 16;

fn sold_out(detail: String, seats: Vec<String>) -> AppError {
    AppError::SeatsUnavailable { detail, seats }
}

/// The metrics' `reason` label for a refused hold (`observe::HOLD_REFUSALS`).
fn refusal_reason(e: &AppError) -> &'static str {
    match e {
        AppError::SeatsUnavailable { .. } => "sold_out",
        AppError::Overloaded(_) | AppError::Store(_) | AppError::Internal(_) => "busy",
        // Not on sale yet, departed, or the passenger's seat limit.
        AppError::Conflict(_) => "conflict",
        AppError::HoldCap { .. }
        | AppError::StepUpRequired { .. }
        | AppError::RiskBlocked { .. } => "limit",
        AppError::Forbidden(_) | AppError::Unavailable { .. } => "queue",
        _ => "invalid",
    }
}

impl App {
    /// Holds seats for a journey until the TTL passes.
    /// `admission` is the waiting-room token, needed when the trip is in a queued sale.
    pub async fn hold_seats(
        &self,
        user_id: UserId,
        req: HoldRequest,
        admission: Option<&str>,
    ) -> AppResult<HoldView> {
        self.hold_seats_from(user_id, req, admission, None).await
    }

    /// `hold_seats` for a request from `client`, whose unexpired holds are capped.
    pub async fn hold_seats_from(
        &self,
        user_id: UserId,
        req: HoldRequest,
        admission: Option<&str>,
        client: Option<IpAddr>,
    ) -> AppResult<HoldView> {
        self.hold_seats_via(user_id, req, Channel::Online { admission, client })
            .await
    }

    /// Holds seats for a sale through `channel`: online buyers pass the waiting
    /// room and the per-passenger limit here; a counter clerk sells to many
    /// passengers, whose limit is checked by phone when the order is placed.
    pub(crate) async fn hold_seats_via(
        &self,
        user_id: UserId,
        req: HoldRequest,
        channel: Channel<'_>,
    ) -> AppResult<HoldView> {
        self.metrics.hold_tried(req.trip_id);
        let held = self.choose_and_hold(user_id, req, channel).await;
        match &held {
            Ok(_) => self.metrics.hold_created(),
            Err(e) => self.metrics.hold_refused(refusal_reason(e)),
        }
        held
    }

    async fn choose_and_hold(
        &self,
        user_id: UserId,
        req: HoldRequest,
        channel: Channel<'_>,
    ) -> AppResult<HoldView> {
        let class: SeatClass = req.class.parse()?;
        let (trip, train) = self.trip_and_train(req.trip_id).await?;
        let off_sale = self.trip_sale_rules(trip.id).await?;
        channel.pass_gate(self, trip.id, user_id).await?;
        let catalog = self.catalog().await?;
        let from = station_in(&catalog, &req.from)?;
        let to = station_in(&catalog, &req.to)?;
        let journey = train.journey(&from.code, &to.code).ok_or_else(|| {
            ParseError::new(
                "to",
                format!(
                    "train {} does not run from {} to {}",
                    train.number, from.code, to.code
                ),
            )
        })?;
        if !train.classes().contains(&class) {
            return Err(ParseError::new(
                "class",
                format!("train {} has no {class} seats", train.number),
            )
            .into());
        }
        let now = self.now();
        let boards = trip.date.at(train.stops[journey.from_stop()].boards_at());
        match sale_state(trip.sale_opens_at, boards, now) {
            SaleState::NotYetOpen => {
                return Err(AppError::Conflict(format!(
                    "sale for this trip opens at {}",
                    to_local_rfc3339(trip.sale_opens_at)
                )));
            }
            SaleState::Departed => {
                return Err(AppError::Conflict(
                    "this train has already left that station".into(),
                ));
            }
            SaleState::Open => {}
        }
        let wanted = match (&req.seats, req.count) {
            (Some(seats), None) if !seats.is_empty() => seats.len(),
            (None, Some(n)) => n as usize,
            _ => {
                return Err(ParseError::new(
                    "seats",
                    "give either 'seats' (labels like KA-12) or 'count'",
                )
                .into());
            }
        };
        let cap = SeatCap::PER_PASSENGER;
        if !cap.allows_booking_of(wanted) {
            let max = cap.max();
            return Err(
                ParseError::new("count", format!("book 1 to {max} seats at a time")).into(),
            );
        }

        let published = catalog
            .fares_between(self.store.as_ref(), &from.code, &to.code)
            .await?;
        let rates = catalog.fare_rates();
        let km = train.distance_km(journey);
        let fare = journey_fare(class, &published, &rates, km)
            .ok_or_else(|| AppError::Internal(format!("no fare for {class}")))?;

        if let Channel::Online { client, .. } = channel {
            // Velocity checks on well-formed holds only, before any seat is taken.
            self.risk_hold(user_id, client).await?;
        }
        let caps = channel.hold_caps(&self.config);
        let segments = train.stops.len() - 1;
        // Whether the snapshot was read from the database after our last try:
        // only such a read may answer "sold out".
        let mut fresh = false;
        for attempt in 0..HOLD_ATTEMPTS {
            // Seat choice works on the availability snapshot; the conditional write decides.
            let snapshot = self.availability.get(self.store.as_ref(), trip.id).await?;
            let named = req.seats.as_deref();
            let Some(seat_ids) = seats_for_hold(
                &snapshot, class, named, journey, segments, wanted, &off_sale,
            )?
            else {
                if !fresh {
                    // The snapshot may be behind seats freed elsewhere: read again first.
                    self.availability.invalidate(trip.id);
                    fresh = true;
                    continue;
                }
                return Err(sold_out(
                    format!("fewer than {wanted} {class} seats are free for this journey"),
                    vec![],
                ));
            };
            let hold = NewHold {
                trip_id: trip.id,
                user_id,
                from_stop: journey.from_stop() as u32,
                to_stop: journey.to_stop() as u32,
                mask: journey.mask(),
                class,
                fare: fare.total(),
                seat_ids,
                now,
                expires_at: now + self.config.hold_ttl,
                seat_cap: channel.seat_cap(),
            };
            match self.store.create_hold_capped(&hold, &caps).await {
                Ok(h) => {
                    self.availability.taken(trip.id, &hold.seat_ids, hold.mask);
                    return self.hold_view(&h, &train);
                }
                Err(StoreError::SeatsTaken(lost)) => {
                    // The snapshot was behind the database: read the trip again.
                    self.availability.invalidate(trip.id);
                    fresh = true;
                    if named.is_none() {
                        tracing::debug!(?lost, attempt, "lost a seat race; choosing again");
                        continue;
                    }
                    let labels = snapshot
                        .of_class(class)
                        .filter(|(s, _)| lost.contains(&s.id))
                        .map(|(s, _)| s.label())
                        .collect();
                    return Err(sold_out(
                        "these seats were just taken for this journey".into(),
                        labels,
                    ));
                }
                Err(e @ (StoreError::NidCapReached(_) | StoreError::NidFlagged)) => {
                    return Err(self.nid_refused(e, None, user_id).await);
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Every fresh read showed enough free seats, yet others took them first
        // each time: the journey is not sold out, only very busy.
        Err(AppError::Overloaded(
            "seats for this journey are being taken very fast; try again".into(),
        ))
    }

    /// Tells the availability snapshot that a hold's seats were given back.
    pub(crate) async fn seats_freed(&self, hold_id: HoldId) {
        match self.store.hold(hold_id).await {
            Ok(Some(h)) => {
                self.availability.freed(h.trip_id, &h.seat_ids(), h.mask);
            }
            // Cannot say which seats: let every trip be read again.
            _ => self.availability.invalidate_all(),
        }
    }

    fn hold_view(&self, h: &Hold, train: &Train) -> AppResult<HoldView> {
        Ok(HoldView {
            hold_id: h.id,
            trip_id: h.trip_id,
            train: train.number,
            from: train.stops[h.from_stop as usize].station.to_string(),
            to: train.stops[h.to_stop as usize].station.to_string(),
            class: h.class,
            seats: h.seats.iter().map(|s| s.label()).collect(),
            fare_per_seat: h.fare,
            total: h.total(),
            status: h.status_at(self.now()),
            expires_at: to_local_rfc3339(h.expires_at),
        })
    }

    pub async fn hold(&self, user_id: UserId, hold_id: HoldId) -> AppResult<HoldView> {
        let hold = self
            .store
            .hold(hold_id)
            .await?
            .filter(|h| h.user_id == user_id)
            .ok_or_else(|| AppError::NotFound(format!("no hold {hold_id} of yours")))?;
        let (_, train) = self.trip_and_train(hold.trip_id).await?;
        self.hold_view(&hold, &train)
    }

    pub async fn release_hold(&self, user_id: UserId, hold_id: HoldId) -> AppResult<()> {
        if self.store.release_hold(hold_id, user_id).await? {
            self.seats_freed(hold_id).await;
            return Ok(());
        }
        match self
            .store
            .hold(hold_id)
            .await?
            .filter(|h| h.user_id == user_id)
        {
            None => Err(AppError::NotFound(format!("no hold {hold_id} of yours"))),
            Some(h) => Err(AppError::Conflict(format!(
                "hold {hold_id} is {} and cannot be released",
                h.status
            ))),
        }
    }
}
