//! The waiting room for peak sales. A sale (trips whose tickets open at a set
//! time) can be queued: users who arrive before opening join a pre-queue that
//! is shuffled at opening, so arriving early gives no edge; later arrivals
//! queue FIFO behind them. The room admits at a set rate and keeps at most
//! `max_active` shoppers; each admitted user gets a signed admission token,
//! bound to them, which holds and orders on the sale's trips require. An
//! admission ends when the user checks out, leaves, or is inactive too long,
//! and the freed slot goes to the next in line.
//!
//! Every request costs O(1) whatever the queue's length (an Eid sale queues
//! millions): users are found by hash, the queue is a FIFO of numbered tickets
//! (users who leave are skipped when their turn comes), a position is "your
//! number − now serving" (so it may count people ahead who since left: it
//! never shows anyone nearer than they are), idle admissions are swept at most
//! every 200 ms, and ids of spent tokens are forgotten once the token expired.
//!
//! State is in memory, so one `serve` process runs the room (several processes
//! would share it through Redis: not built yet).

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::sale_bounds::{check_max_active, check_rate, check_settings, secs_after};
use crate::domain::admission::{AdmissionError, verify};

use super::{App, AppError, AppResult};
#[cfg(test)]
use sale::{POLL_MAX_SECS, TOKEN_MAX_LIFE};
use sale::{Sale, Waiting, status_of};

mod sale;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaleSettings {
    pub id: String,
    pub opens_at: DateTime<Utc>,
    pub trip_ids: Vec<i64>,
    /// Users admitted per second.
    pub rate_per_sec: f64,
    /// Shoppers admitted at once.
    pub max_active: usize,
    /// An admitted user idle this long loses the slot.
    pub idle_secs: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum QueueStatus {
    /// Before opening: in the pre-queue, order decided by lot at opening.
    PreQueue {
        opens_at: String,
        waiting: usize,
        /// When to ask again: a crowd polling flat out would crowd out the sale.
        poll_after_secs: u64,
    },
    Waiting {
        position: usize,
        /// From the admissions of the last few seconds (slots free up only as
        /// shoppers finish, so the configured rate alone would promise too much).
        estimated_wait_secs: u64,
        poll_after_secs: u64,
    },
    Admitted {
        token: String,
        expires_at: String,
    },
}

pub struct WaitingRoom {
    key: Vec<u8>,
    sales: Mutex<HashMap<String, Sale>>,
}

fn refused(e: impl std::fmt::Display) -> AppError {
    AppError::Forbidden(format!("admission refused: {e}"))
}

impl WaitingRoom {
    pub fn new(key: Vec<u8>) -> Self {
        WaitingRoom {
            key,
            sales: Mutex::new(HashMap::new()),
        }
    }

    fn with_sale<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut Sale, &[u8]) -> AppResult<T>,
    ) -> AppResult<T> {
        let mut sales = self.sales.lock();
        let sale = sales
            .get_mut(id)
            .ok_or_else(|| AppError::NotFound(format!("no queued sale '{id}'")))?;
        f(sale, &self.key)
    }

    /// Creates a sale whose settings are all within `sale_bounds` at `now`.
    pub fn create(&self, settings: SaleSettings, now: DateTime<Utc>) -> AppResult<()> {
        check_settings(&settings, now)?;
        let mut sales = self.sales.lock();
        if sales.values().any(|s| {
            s.settings
                .trip_ids
                .iter()
                .any(|t| settings.trip_ids.contains(t))
        }) {
            return Err(AppError::Conflict(
                "a trip of this sale is already in a queued sale".into(),
            ));
        }
        if sales.contains_key(&settings.id) {
            return Err(AppError::Conflict(format!("sale '{}' exists", settings.id)));
        }
        sales.insert(settings.id.clone(), Sale::new(settings));
        Ok(())
    }

    /// Pauses or resumes admission, or changes its rate, live.
    pub fn control(
        &self,
        id: &str,
        paused: Option<bool>,
        rate_per_sec: Option<f64>,
        max_active: Option<usize>,
    ) -> AppResult<()> {
        rate_per_sec.map(check_rate).transpose()?;
        max_active.map(check_max_active).transpose()?;
        self.with_sale(id, |sale, _| {
            if let Some(p) = paused {
                sale.paused = p;
            }
            if let Some(r) = rate_per_sec {
                sale.settings.rate_per_sec = r;
            }
            if let Some(m) = max_active {
                sale.settings.max_active = m;
            }
            Ok(())
        })
    }

    pub fn join(&self, id: &str, user: i64, now: DateTime<Utc>) -> AppResult<QueueStatus> {
        self.with_sale(id, |sale, key| {
            sale.tick(key, now);
            if !sale.knows(user) {
                if sale.opened {
                    sale.enqueue(user);
                } else {
                    sale.prequeue.push(user);
                    sale.waiting.insert(user, Waiting::PreQueue);
                }
                sale.tick(key, now);
            }
            Ok(status_of(sale, user, now).expect("just joined"))
        })
    }

    pub fn status(&self, id: &str, user: i64, now: DateTime<Utc>) -> AppResult<QueueStatus> {
        self.with_sale(id, |sale, key| {
            sale.tick(key, now);
            status_of(sale, user, now)
                .ok_or_else(|| AppError::NotFound("you are not in this queue; join first".into()))
        })
    }

    /// Leaves the queue or gives up the admission, freeing the slot.
    pub fn leave(&self, id: &str, user: i64, now: DateTime<Utc>) -> AppResult<()> {
        self.with_sale(id, |sale, _| {
            // The queue and pre-queue entries are skipped when their turn comes.
            sale.waiting.remove(&user);
            sale.end(user, now);
            Ok(())
        })
    }

    /// The sale a trip belongs to, if it is queued.
    fn sale_of(&self, trip_id: i64) -> Option<String> {
        let sales = self.sales.lock();
        sales
            .values()
            .find(|s| s.settings.trip_ids.contains(&trip_id))
            .map(|s| s.settings.id.clone())
    }

    /// Lets a request on a trip through: free when its sale is not queued, otherwise
    /// only with this user's current admission token (which counts as activity).
    pub fn gate(
        &self,
        trip_id: i64,
        user: i64,
        token: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let Some(id) = self.sale_of(trip_id) else {
            return Ok(());
        };
        let token = token.ok_or_else(|| {
            AppError::Forbidden(format!("this trip is in the queued sale '{id}': join the queue and send its 'Admission-Token'"))
        })?;
        self.with_sale(&id, |sale, key| {
            sale.tick(key, now);
            let claims = verify(token, key, now.timestamp()).map_err(refused)?;
            if claims.sale != id || claims.user != user {
                return Err(refused(
                    "the token was issued to someone else or for another sale",
                ));
            }
            if sale.spent.contains_key(&claims.jti) {
                return Err(refused("the token was already used up (replay)"));
            }
            let admission = sale
                .admitted
                .get_mut(&user)
                .filter(|a| a.jti == claims.jti)
                .ok_or_else(|| refused(AdmissionError::Expired))?;
            admission.idle_until = secs_after(now, sale.settings.idle_secs);
            Ok(())
        })
    }

    /// Ends the user's admission after a checkout: the token is spent.
    pub fn checked_out(&self, trip_id: i64, user: i64, now: DateTime<Utc>) {
        if let Some(id) = self.sale_of(trip_id) {
            let _ = self.with_sale(&id, |sale, _| {
                sale.end(user, now);
                Ok(())
            });
        }
    }

    /// The order in which users were admitted (tests and operators).
    pub fn admission_order(&self, id: &str) -> AppResult<Vec<i64>> {
        self.with_sale(id, |sale, _| {
            let mut seen: Vec<(u64, i64)> =
                sale.admitted.iter().map(|(u, a)| (a.seq, *u)).collect();
            seen.sort();
            Ok(seen.into_iter().map(|(_, u)| u).collect())
        })
    }
}

impl App {
    pub fn waiting_room(&self) -> &WaitingRoom {
        &self.queue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(opens_at: DateTime<Utc>, rate: f64, max_active: usize) -> WaitingRoom {
        let room = WaitingRoom::new(b"test-key".to_vec());
        room.create(
            SaleSettings {
                id: "eid".into(),
                opens_at,
                trip_ids: vec![1],
                rate_per_sec: rate,
                max_active,
                idle_secs: 60,
            },
            opens_at,
        )
        .unwrap();
        room
    }

    fn position(s: QueueStatus) -> Option<usize> {
        match s {
            QueueStatus::Waiting { position, .. } => Some(position),
            _ => None,
        }
    }

    #[test]
    fn a_big_queue_keeps_order_and_skips_those_who_left() {
        let t0 = Utc::now();
        let opens = t0 + chrono::Duration::seconds(10);
        let room = room(opens, 100.0, 100);
        // 20,000 arrive before opening.
        for user in 0..20_000 {
            room.join("eid", user, t0).unwrap();
        }
        // Opening draws their order and admits a second's worth (100).
        room.status("eid", 0, opens).unwrap();
        let first = room.admission_order("eid").unwrap();
        assert_eq!(first.len(), 100);
        assert_ne!(
            first,
            (0..100).collect::<Vec<_>>(),
            "drawn by lot, not by arrival"
        );
        // 30,000 more queue behind the whole pre-queue, in arrival order.
        for user in 20_000..50_000 {
            let s = room.join("eid", user, opens).unwrap();
            assert_eq!(position(s), Some(user as usize - 100 + 1));
        }
        // The next two in line leave; their turns are skipped.
        let next_in_line = |p: usize| {
            (0..20_000)
                .find(|u| position(room.status("eid", *u, opens).unwrap()) == Some(p))
                .unwrap()
        };
        let leavers = vec![next_in_line(1), next_in_line(2)];
        for u in &leavers {
            room.leave("eid", *u, opens).unwrap();
            assert!(room.status("eid", *u, opens).is_err());
        }
        // The first 100 check out; a second later the next 100 come in.
        for u in &first {
            room.leave("eid", *u, opens).unwrap();
        }
        let later = opens + chrono::Duration::seconds(1);
        room.status("eid", 49_999, later).unwrap();
        let second = room.admission_order("eid").unwrap();
        assert_eq!(second.len(), 100);
        assert!(second.iter().all(|u| *u < 20_000 && !leavers.contains(u)));
        // 202 tickets are served (2 skipped): 49,797 people are ahead of the last.
        let last = position(room.status("eid", 49_999, later).unwrap());
        assert_eq!(last, Some(49_798));
    }

    #[test]
    fn spent_tokens_are_refused_then_forgotten_after_expiry() {
        let t0 = Utc::now();
        let room = room(t0, 10.0, 10);
        let QueueStatus::Admitted { token, .. } = room.join("eid", 7, t0).unwrap() else {
            panic!("admitted at once");
        };
        room.gate(1, 7, Some(&token), t0).unwrap();
        room.checked_out(1, 7, t0);
        assert!(room.gate(1, 7, Some(&token), t0).is_err(), "a replay");
        let much_later = t0 + TOKEN_MAX_LIFE + chrono::Duration::minutes(1);
        room.status("eid", 8, much_later).ok();
        let sales = room.sales.lock();
        assert!(sales["eid"].spent.is_empty(), "the spent id is forgotten");
    }
}

#[cfg(test)]
mod pace_tests {
    use super::*;

    #[test]
    fn the_wait_follows_the_pace_the_room_really_admits_at() {
        let t0 = Utc::now();
        let room = WaitingRoom::new(b"k".to_vec());
        // A generous rate, but only 10 slots: admission is slot-bound.
        room.create(
            SaleSettings {
                id: "eid".into(),
                opens_at: t0,
                trip_ids: vec![1],
                rate_per_sec: 1000.0,
                max_active: 10,
                idle_secs: 600,
            },
            t0,
        )
        .unwrap();
        for user in 0..1_000 {
            room.join("eid", user, t0).unwrap();
        }
        // Over 10 seconds, 10 shoppers finish each second and 10 more come in.
        for sec in 1..=10 {
            let now = t0 + chrono::Duration::seconds(sec);
            for user in room.admission_order("eid").unwrap() {
                room.leave("eid", user, now).unwrap();
            }
            room.status("eid", 999, now).unwrap();
        }
        let now = t0 + chrono::Duration::seconds(10);
        let QueueStatus::Waiting {
            position,
            estimated_wait_secs,
            poll_after_secs,
        } = room.status("eid", 999, now).unwrap()
        else {
            panic!("still waiting");
        };
        // ~10 admissions a second, not 1,000: about position / 10 seconds.
        let expected = position as u64 / 10;
        assert!(
            estimated_wait_secs >= expected * 8 / 10
                && estimated_wait_secs <= expected * 12 / 10 + 1,
            "position {position}, wait {estimated_wait_secs}, expected about {expected}"
        );
        assert_eq!(poll_after_secs, POLL_MAX_SECS, "a long wait polls seldom");
    }
}
