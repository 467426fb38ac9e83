//! The raw-storage baseline: the same writes a booking makes (hold the seat,
//! create the order, mark it paid, confirm it, issue the ticket) straight
//! against the store, without HTTP, so the rehearsal can say how close the
//! whole server comes to what the database itself can do.

use chrono::Utc;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::domain::{
    Journey, OrderStatus, PassengerName, SeatCap, SeatClass, SeatId, ServiceDate, TrainId, TripId,
    UserId,
};
use crate::store::prelude::*;
use crate::store::{
    NewHold, NewOrder, NewTicket, NewUser, OrderChange, PassengerInput, StoreError, StoreResult,
};

pub struct Baseline {
    pub bookings: usize,
    pub elapsed: Duration,
}

impl Baseline {
    pub fn per_second(&self) -> f64 {
        self.bookings as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// One prepared booking: a free seat of a trip and the journey to sell on it.
pub struct Slot {
    pub trip_id: TripId,
    pub seat_id: SeatId,
    pub class: crate::domain::SeatClass,
    pub journey: Journey,
}

async fn book(store: &dyn Store, user_id: UserId, slot: &Slot, n: usize) -> StoreResult<()> {
    let now = Utc::now();
    let hold = store
        .create_hold(&NewHold {
            trip_id: slot.trip_id,
            user_id,
            from_stop: slot.journey.from_stop() as u32,
            to_stop: slot.journey.to_stop() as u32,
            mask: slot.journey.mask(),
            class: slot.class,
            fare: 450,
            seat_ids: vec![slot.seat_id],
            now,
            expires_at: now + chrono::Duration::minutes(10),
            seat_cap: Some(SeatCap::PER_PASSENGER),
        })
        .await?;
    let name = PassengerName::parse(&format!("Baseline {n}"))
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let order = store
        .create_order(&NewOrder {
            user_id,
            hold_id: hold.id,
            passengers: vec![PassengerInput { name, nid: None }],
            payment_token: "baseline".into(),
            idempotency_key: format!("baseline-{n}"),
            request_hash: String::new(),
            now,
        })
        .await?;
    let paid = OrderChange {
        charge_id: Some(format!("ch_baseline_{n}")),
        ..Default::default()
    };
    store
        .transition_order(
            order.id,
            OrderStatus::Reserved,
            OrderStatus::Paid,
            &paid,
            now,
        )
        .await?;
    store
        .transition_order(
            order.id,
            OrderStatus::Paid,
            OrderStatus::Confirmed,
            &OrderChange::default(),
            now,
        )
        .await?;
    let ticket = NewTicket {
        pnr: format!("BASE{n:06}"),
        order_id: order.id,
        passenger_seq: 0,
        seat_id: slot.seat_id,
        payload: String::new(),
    };
    store.issue_tickets(&[ticket], now).await?;
    Ok(())
}

/// Books every slot once with `concurrency` tasks; users are created first (not timed).
pub async fn run(
    store: Arc<dyn Store>,
    slots: Vec<Slot>,
    concurrency: usize,
) -> StoreResult<Baseline> {
    let mut users = Vec::with_capacity(slots.len());
    for n in 0..slots.len() {
        let u = store
            .create_user(&NewUser {
                name: format!("Baseline {n}"),
                phone: format!("+88019{n:08}"),
                email: format!("baseline{n}@rehearsal.invalid"),
                password_hash: "unusable".into(),
                role: crate::domain::Role::Passenger,
                created_at: chrono::Utc::now(),
                // Straight to the store: the baseline measures raw bookings, past every rule.
                nid: None,
            })
            .await?;
        users.push(u.id);
    }
    let work: Arc<Vec<(UserId, Slot)>> = Arc::new(users.into_iter().zip(slots).collect());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (store, work, next) = (store.clone(), work.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((user, slot)) = work.get(n) else {
                    return Ok(());
                };
                book(store.as_ref(), *user, slot, n).await?;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("baseline task")?;
    }
    Ok(Baseline {
        bookings: work.len(),
        elapsed: start.elapsed(),
    })
}

/// One free full-route seat per slot on `date`'s trips, for the baseline.
pub async fn slots_for(app: &App, date: ServiceDate, limit: usize) -> anyhow::Result<Vec<Slot>> {
    let trains: BTreeMap<TrainId, _> = app
        .trains()
        .await?
        .into_iter()
        .map(|t| (t.id, t.train))
        .collect();
    let mut slots = Vec::new();
    for trip in app.trips_between(date, date).await? {
        let Some(train) = trains.get(&trip.train_id) else {
            continue;
        };
        let journey = Journey::new(0, train.stops.len() - 1, train.stops.len())?;
        for seat in app.raw_store().seats(trip.id).await? {
            if slots.len() >= limit {
                return Ok(slots);
            }
            if seat.taken.is_empty() && seat.class != SeatClass::AcBerth {
                slots.push(Slot {
                    trip_id: trip.id,
                    seat_id: seat.id,
                    class: seat.class,
                    journey,
                });
            }
        }
    }
    Ok(slots)
}
