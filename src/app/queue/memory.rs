//! The waiting room in this process's memory: each sale's `domain` state
//! machine behind one lock. For a single `serve` process (the SQLite default,
//! or no `--redis-url`): a second process would keep a second, separate room,
//! and a restart starts the queue afresh (the sale itself is in the database,
//! so its trips stay gated).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use std::collections::HashMap;

use super::room::{Census, WaitingRoom};
use crate::app::AppResult;
use crate::domain::UserId;
use crate::domain::waiting_room::{Place, QueuedSale, Refusal, Sale, SaleControl};

#[derive(Default)]
pub struct MemoryRoom {
    sales: Mutex<HashMap<String, Sale>>,
}

impl MemoryRoom {
    /// Runs `f` on the sale's state, created from its settings on first use.
    fn with<T>(&self, sale: &QueuedSale, f: impl FnOnce(&mut Sale) -> T) -> T {
        let mut sales = self.sales.lock();
        let state = sales
            .entry(sale.settings.id.clone())
            .or_insert_with(|| Sale::new(sale.clone(), rand::random()));
        f(state)
    }
}

#[async_trait]
impl WaitingRoom for MemoryRoom {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn reset(&self, sale: &QueuedSale) -> AppResult<()> {
        self.sales.lock().remove(&sale.settings.id);
        Ok(())
    }

    async fn configure(&self, sale: &QueuedSale, _now: DateTime<Utc>) -> AppResult<()> {
        self.with(sale, |state| {
            state.control(SaleControl {
                paused: Some(sale.paused),
                rate_per_sec: Some(sale.settings.rate_per_sec),
                max_active: Some(sale.settings.max_active),
            })
        });
        Ok(())
    }

    async fn join(&self, sale: &QueuedSale, user: UserId, now: DateTime<Utc>) -> AppResult<Place> {
        Ok(self.with(sale, |s| s.join(user, now, &mut rand::thread_rng())))
    }

    async fn status(
        &self,
        sale: &QueuedSale,
        user: UserId,
        now: DateTime<Utc>,
    ) -> AppResult<Option<Place>> {
        Ok(self.with(sale, |s| s.status(user, now, &mut rand::thread_rng())))
    }

    async fn leave(&self, sale: &QueuedSale, user: UserId, now: DateTime<Utc>) -> AppResult<()> {
        self.with(sale, |s| s.leave(user, now));
        Ok(())
    }

    async fn touch(
        &self,
        sale: &QueuedSale,
        user: UserId,
        jti: &str,
        now: DateTime<Utc>,
    ) -> AppResult<Result<(), Refusal>> {
        Ok(self.with(sale, |s| s.touch(user, jti, now, &mut rand::thread_rng())))
    }

    async fn check_out(
        &self,
        sale: &QueuedSale,
        user: UserId,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        self.with(sale, |s| s.check_out(user, now));
        Ok(())
    }

    async fn admission_order(&self, sale: &QueuedSale) -> AppResult<Vec<UserId>> {
        Ok(self.with(sale, |s| s.admission_order()))
    }

    async fn census(&self, sale: &QueuedSale) -> AppResult<Census> {
        // A sale nobody has reached in this process has no room here yet.
        let sales = self.sales.lock();
        let Some(state) = sales.get(&sale.settings.id) else {
            return Ok(Census::default());
        };
        let (waiting, admitted, admissions) = state.census();
        Ok(Census {
            waiting: waiting as u64,
            admitted: admitted as u64,
            admissions,
        })
    }
}
