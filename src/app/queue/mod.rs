//! The waiting room for peak sales, as use cases: the room's rules are in
//! `domain::waiting_room`; here are the lock around each sale, the clock's
//! "now", the admission tokens' signatures and the HTTP-facing answers.
//!
//! A sale (trips whose tickets open at a set time) can be queued: users who
//! arrive before opening join a pre-queue that is shuffled at opening, so
//! arriving early gives no edge; later arrivals queue FIFO behind them. The
//! room admits at a set rate and keeps at most `max_active` shoppers; each
//! admitted user gets a signed admission token, bound to them, which holds and
//! orders on the sale's trips require. An admission ends when the user checks
//! out, leaves, or is inactive too long, and the freed slot goes to the next
//! in line.
//!
//! State is in memory, so one `serve` process runs the room (several processes
//! would share it through Redis: not built yet).

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::HashMap;

use crate::domain::admission::{sign, verify};
use crate::domain::time::to_local_rfc3339;
use crate::domain::waiting_room::bounds::{check_control, check_settings};
use crate::domain::waiting_room::{
    Place, QueuedSale, Sale, SaleControl, poll_after, prequeue_poll, wait_secs,
};
use crate::domain::{TripId, UserId};

use super::{App, AppError, AppResult};

pub use crate::domain::waiting_room::SaleSettings;

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

impl QueueStatus {
    /// What `user` is told about their `place` in `sale`; an admission's token
    /// is signed with `key` (the same admission always gives the same token).
    fn of(place: Place, sale: &SaleSettings, user: UserId, key: &[u8], now: DateTime<Utc>) -> Self {
        match place {
            Place::PreQueue { waiting } => QueueStatus::PreQueue {
                opens_at: to_local_rfc3339(sale.opens_at),
                waiting,
                poll_after_secs: prequeue_poll(sale.opens_at, now),
            },
            Place::Waiting { position, pace } => {
                let wait = wait_secs(position, pace);
                QueueStatus::Waiting {
                    position,
                    estimated_wait_secs: wait,
                    poll_after_secs: poll_after(wait),
                }
            }
            Place::Admitted(a) => QueueStatus::Admitted {
                token: sign(&a.claims(&sale.id, user), key),
                expires_at: to_local_rfc3339(a.idle_until),
            },
        }
    }
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

    /// Creates a sale whose settings are all within bounds at `now`.
    pub fn create(&self, settings: SaleSettings, now: DateTime<Utc>) -> AppResult<()> {
        check_settings(&settings, now)?;
        let mut sales = self.sales.lock();
        if sales.values().any(|s| {
            s.settings()
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
        let id = settings.id.clone();
        let sale = QueuedSale {
            settings,
            paused: false,
        };
        sales.insert(id, Sale::new(sale, rand::random()));
        Ok(())
    }

    /// Pauses or resumes admission, or changes its rate, live.
    pub fn control(&self, id: &str, change: SaleControl) -> AppResult<()> {
        check_control(&change)?;
        self.with_sale(id, |sale, _| {
            sale.control(change);
            Ok(())
        })
    }

    pub fn join(&self, id: &str, user: i64, now: DateTime<Utc>) -> AppResult<QueueStatus> {
        let user = UserId(user);
        self.with_sale(id, |sale, key| {
            let place = sale.join(user, now, &mut rand::thread_rng());
            Ok(QueueStatus::of(place, sale.settings(), user, key, now))
        })
    }

    pub fn status(&self, id: &str, user: i64, now: DateTime<Utc>) -> AppResult<QueueStatus> {
        let user = UserId(user);
        self.with_sale(id, |sale, key| {
            let place = sale
                .status(user, now, &mut rand::thread_rng())
                .ok_or_else(|| {
                    AppError::NotFound("you are not in this queue; join first".into())
                })?;
            Ok(QueueStatus::of(place, sale.settings(), user, key, now))
        })
    }

    /// Leaves the queue or gives up the admission, freeing the slot.
    pub fn leave(&self, id: &str, user: i64, now: DateTime<Utc>) -> AppResult<()> {
        self.with_sale(id, |sale, _| {
            sale.leave(UserId(user), now);
            Ok(())
        })
    }

    /// The sale a trip belongs to, if it is queued.
    fn sale_of(&self, trip_id: i64) -> Option<String> {
        let sales = self.sales.lock();
        sales
            .values()
            .find(|s| s.settings().trip_ids.contains(&TripId(trip_id)))
            .map(|s| s.settings().id.clone())
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
            let claims = verify(token, key, now.timestamp()).map_err(refused)?;
            if claims.sale != id || claims.user != user {
                return Err(refused(
                    "the token was issued to someone else or for another sale",
                ));
            }
            sale.touch(UserId(user), &claims.jti, now, &mut rand::thread_rng())
                .map_err(refused)
        })
    }

    /// Ends the user's admission after a checkout: the token is spent.
    pub fn checked_out(&self, trip_id: i64, user: i64, now: DateTime<Utc>) {
        if let Some(id) = self.sale_of(trip_id) {
            let _ = self.with_sale(&id, |sale, _| {
                sale.check_out(UserId(user), now);
                Ok(())
            });
        }
    }

    /// The order in which users were admitted (tests and operators).
    pub fn admission_order(&self, id: &str) -> AppResult<Vec<i64>> {
        self.with_sale(id, |sale, _| {
            Ok(sale
                .admission_order()
                .into_iter()
                .map(UserId::get)
                .collect())
        })
    }
}

impl App {
    pub fn waiting_room(&self) -> &WaitingRoom {
        &self.queue
    }
}
