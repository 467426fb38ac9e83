//! The waiting room for peak sales, as use cases. The rules are in
//! `domain::waiting_room`; the queue's state is kept by a `WaitingRoom`
//! (`room`): in memory for one process, or in Redis for all of them. Here are
//! the orchestration around it: the clock's "now", the sales' settings from
//! the database (`directory`), admission tokens and their signatures, and the
//! gate that holds and orders on queued trips pass.
//!
//! A sale (trips whose tickets open at a set time) can be queued: users who
//! arrive before opening join a pre-queue whose order is drawn by lot, so
//! arriving early gives no edge; later arrivals queue FIFO behind them. The
//! room admits at a set rate and keeps at most `max_active` shoppers; each
//! admitted user gets a signed admission token, bound to them, which holds and
//! orders on the sale's trips require. An admission ends when the user checks
//! out, leaves, or is inactive too long, and the freed slot goes to the next
//! in line.
//!
//! Fails closed: when the room cannot be reached (Redis down), every request
//! on a queued sale's trips is refused with 503 and Retry-After; trips of no
//! queued sale are not affected.

mod directory;
mod lookup;
mod memory;
mod redis;
mod room;
mod status;

use std::sync::Arc;

use crate::domain::admission::verify;
use crate::domain::waiting_room::bounds::{check_control, check_settings};
use crate::domain::waiting_room::{QueuedSale, SaleControl};
use crate::domain::{TripId, UserId};
use crate::store::Store;

use super::{App, AppConfig, AppError, AppResult, Clock};
use directory::SaleDirectory;

pub use crate::domain::waiting_room::SaleSettings;
use crate::wire::queue::QueueStatus;
pub use memory::MemoryRoom;
pub use redis::RedisRoom;
pub use room::{Census, WaitingRoom};

/// Sales whose rooms are reported in the metrics at most.
const MONITORED_SALES: usize = 20;

/// What the gate let a request through on: the queued sale whose admission
/// it checked, or nothing (a trip of no queued sale, or a counter sale).
#[derive(Debug, Default)]
pub struct GatePass(Option<Arc<QueuedSale>>);

/// The waiting room's use cases, on whichever room the configuration names.
pub struct Queue {
    room: Arc<dyn WaitingRoom>,
    directory: SaleDirectory,
    /// Signs and checks admission tokens; kept in the database, so a token
    /// from one process is honoured by every other.
    key: Vec<u8>,
    clock: Clock,
}

fn refused(e: impl std::fmt::Display) -> AppError {
    AppError::Forbidden(format!("admission refused: {e}"))
}

impl Queue {
    /// The room in Redis when `config.redis_url` is set, else in this process's memory.
    pub(crate) fn new(store: Arc<dyn Store>, key: Vec<u8>, config: &AppConfig) -> AppResult<Queue> {
        let room: Arc<dyn WaitingRoom> = match &config.redis_url {
            Some(url) => Arc::new(RedisRoom::connect(url, &config.redis_prefix)?),
            None => Arc::new(MemoryRoom::default()),
        };
        tracing::info!(room = room.kind(), "waiting room");
        Ok(Queue {
            room,
            directory: SaleDirectory::new(store, config.clock.clone()),
            key,
            clock: config.clock.clone(),
        })
    }

    /// Where the queue is kept: "memory" or "redis".
    pub fn room_kind(&self) -> &'static str {
        self.room.kind()
    }

    /// Queues a sale whose settings are all within bounds now; its trips are
    /// gated from this moment on, in every process.
    pub async fn create(&self, mut settings: SaleSettings) -> AppResult<()> {
        let now = self.clock.now();
        check_settings(&settings, now)?;
        // Kept to the millisecond, as the database and the room keep it.
        settings.opens_at =
            chrono::DateTime::from_timestamp_millis(settings.opens_at.timestamp_millis())
                .unwrap_or(settings.opens_at);
        let sale = self
            .directory
            .create(QueuedSale {
                settings,
                paused: false,
            })
            .await?;
        // The sale is recorded (and gated) whatever happens here; a room that
        // cannot be reached now starts the sale afresh on first use anyway.
        if let Err(e) = self.room.reset(&sale).await {
            tracing::warn!(sale = %sale.settings.id, error = %e, "could not clear old room state for a new sale");
        }
        Ok(())
    }

    /// Pauses or resumes admission, or changes its rate or cap, live.
    pub async fn control(&self, id: &str, change: SaleControl) -> AppResult<()> {
        check_control(&change)?;
        let sale = self.directory.control(id, change).await?;
        self.room.configure(&sale, self.clock.now()).await
    }

    pub async fn join(&self, id: &str, user: UserId) -> AppResult<QueueStatus> {
        let sale = self.directory.sale(id).await?;
        let now = self.clock.now();
        let place = self.room.join(&sale, user, now).await?;
        Ok(QueueStatus::of(place, &sale.settings, user, &self.key, now))
    }

    pub async fn status(&self, id: &str, user: UserId) -> AppResult<QueueStatus> {
        let sale = self.directory.sale(id).await?;
        let now = self.clock.now();
        let place =
            self.room.status(&sale, user, now).await?.ok_or_else(|| {
                AppError::NotFound("you are not in this queue; join first".into())
            })?;
        Ok(QueueStatus::of(place, &sale.settings, user, &self.key, now))
    }

    /// Leaves the queue or gives up the admission, freeing the slot.
    pub async fn leave(&self, id: &str, user: UserId) -> AppResult<()> {
        let sale = self.directory.sale(id).await?;
        self.room.leave(&sale, user, self.clock.now()).await
    }

    /// Lets a request on a trip through: free when the trip is in no queued
    /// sale, otherwise only with this user's current admission token (which
    /// counts as activity). Refused with 503 when the room cannot be reached.
    pub async fn gate(
        &self,
        trip: TripId,
        user: UserId,
        token: Option<&str>,
    ) -> AppResult<GatePass> {
        let Some(sale) = self.directory.sale_of_trip(trip).await? else {
            return Ok(GatePass::default());
        };
        let id = &sale.settings.id;
        let token = token.ok_or_else(|| {
            AppError::Forbidden(format!("this trip is in the queued sale '{id}': join the queue and send its 'Admission-Token'"))
        })?;
        let now = self.clock.now();
        let claims = verify(token, &self.key, now.timestamp()).map_err(refused)?;
        if claims.sale != *id || claims.user != user.get() {
            return Err(refused(
                "the token was issued to someone else or for another sale",
            ));
        }
        self.room
            .touch(&sale, user, &claims.jti, now)
            .await?
            .map_err(refused)?;
        Ok(GatePass(Some(sale)))
    }

    /// Ends the admission `pass` was let through on, after a checkout: the
    /// token is spent and the slot goes to the next in line. The purchase
    /// stands whatever happens here; an admission that could not be ended
    /// lapses when idle.
    pub async fn checked_out(&self, pass: &GatePass, user: UserId) {
        let Some(sale) = &pass.0 else { return };
        if let Err(e) = self.room.check_out(sale, user, self.clock.now()).await {
            let sale = &sale.settings.id;
            tracing::warn!(%sale, %user, error = %e, "could not end an admission after checkout");
        }
    }

    /// Each sale this process has seen with its room's census (at most
    /// `MONITORED_SALES`, so the metrics stay bounded), for the gauges.
    pub async fn census(&self) -> AppResult<Vec<crate::observe::RoomReading>> {
        let mut readings = vec![];
        for id in self.directory.known_ids(MONITORED_SALES) {
            let sale = self.directory.sale(&id).await?;
            let census = self.room.census(&sale).await?;
            readings.push(crate::observe::RoomReading {
                sale: id,
                waiting: census.waiting,
                admitted: census.admitted,
                admissions: census.admissions,
                rate_per_sec: if sale.paused {
                    0.0
                } else {
                    sale.settings.rate_per_sec
                },
            });
        }
        Ok(readings)
    }

    /// The users admitted now, in admission order (tests and operators).
    pub async fn admission_order(&self, id: &str) -> AppResult<Vec<UserId>> {
        let sale = self.directory.sale(id).await?;
        self.room.admission_order(&sale).await
    }
}

impl App {
    pub fn waiting_room(&self) -> &Queue {
        &self.queue
    }
}
