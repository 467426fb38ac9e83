//! One queued sale as a state machine: the pre-queue drawn by lot at opening,
//! the FIFO of numbered tickets, admissions at a rate under a cap, idle sweeps,
//! spent token ids, and the pace that wait estimates come from. It takes "now"
//! from its caller and does no I/O; the room (`super`) finds sales, holds the
//! lock and checks tokens. Every step costs O(1) whatever the queue's length.

use chrono::{DateTime, Utc};
use rand::RngCore;
use rand::seq::SliceRandom;
use std::collections::{HashMap, VecDeque};

use super::{QueueStatus, SaleSettings};
use crate::app::sale_bounds::secs_after;
use crate::domain::admission::{AdmissionClaims, sign};

/// How long an admission token is good for at most, however active its holder.
pub(super) const TOKEN_MAX_LIFE: chrono::Duration = chrono::Duration::minutes(30);

pub(super) struct Admission {
    pub(super) jti: String,
    pub(super) token: String,
    pub(super) idle_until: DateTime<Utc>,
    /// Order of admission, for fairness checks.
    pub(super) seq: u64,
}

/// Where a user who has not been admitted waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Waiting {
    /// Before opening; the order is drawn at opening.
    PreQueue,
    /// In the queue with this ticket number.
    Ticket(u64),
}

/// How often idle admissions are looked for (each request ticks the sale).
const SWEEP_EVERY_MS: i64 = 200;
/// Admissions of this recent past give the pace used for wait estimates.
const PACE_WINDOW_SECS: i64 = 10;
/// Waiting users are told to poll no more often than this, and no less.
const POLL_MIN_SECS: u64 = 1;
pub(super) const POLL_MAX_SECS: u64 = 5;

pub(super) struct Sale {
    pub(super) settings: SaleSettings,
    pub(super) paused: bool,
    pub(super) opened: bool,
    /// Arrivals before opening, in arrival order (shuffled at opening).
    pub(super) prequeue: Vec<i64>,
    /// Tickets in order; an entry whose user left (or was re-queued) is skipped.
    pub(super) queue: VecDeque<(u64, i64)>,
    pub(super) waiting: HashMap<i64, Waiting>,
    pub(super) next_ticket: u64,
    /// The ticket number of the next user to be admitted.
    pub(super) serving: u64,
    pub(super) admitted: HashMap<i64, Admission>,
    /// Ids of admissions that ended, with their token's expiry: a token
    /// carrying one is a replay. Forgotten after expiry (the token is dead anyway).
    pub(super) spent: HashMap<String, i64>,
    pub(super) credit: f64,
    pub(super) last_tick: Option<DateTime<Utc>>,
    pub(super) last_sweep: Option<DateTime<Utc>>,
    pub(super) admissions: u64,
    /// When recent admissions happened (the last `PACE_WINDOW_SECS`), for the pace.
    pub(super) recent: VecDeque<DateTime<Utc>>,
}

fn random_id() -> String {
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

impl Sale {
    pub(super) fn new(settings: SaleSettings) -> Self {
        Sale {
            settings,
            paused: false,
            opened: false,
            prequeue: vec![],
            queue: VecDeque::new(),
            waiting: HashMap::new(),
            next_ticket: 0,
            serving: 0,
            admitted: HashMap::new(),
            spent: HashMap::new(),
            credit: 0.0,
            last_tick: None,
            last_sweep: None,
            admissions: 0,
            recent: VecDeque::new(),
        }
    }

    pub(super) fn enqueue(&mut self, user: i64) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.push_back((ticket, user));
        self.waiting.insert(user, Waiting::Ticket(ticket));
    }

    /// Opens (drawing the pre-queue's order once), ends idle admissions and admits at the rate.
    pub(super) fn tick(&mut self, key: &[u8], now: DateTime<Utc>) {
        if now < self.settings.opens_at {
            return;
        }
        if !self.opened {
            self.opened = true;
            let mut early = std::mem::take(&mut self.prequeue);
            early.shuffle(&mut rand::thread_rng());
            for user in early {
                // Those who left before opening are gone from `waiting`.
                if self.waiting.get(&user) == Some(&Waiting::PreQueue) {
                    self.enqueue(user);
                }
            }
        }
        if self
            .last_sweep
            .is_none_or(|t| (now - t).num_milliseconds() >= SWEEP_EVERY_MS)
        {
            self.last_sweep = Some(now);
            self.sweep(now);
        }
        let elapsed = self
            .last_tick
            .map_or(1.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
        self.last_tick = Some(now);
        if self.paused {
            return;
        }
        self.credit = (self.credit + elapsed * self.settings.rate_per_sec)
            .min(self.settings.max_active as f64);
        while self.credit >= 1.0 && self.admitted.len() < self.settings.max_active {
            let Some((ticket, user)) = self.queue.pop_front() else {
                break;
            };
            if self.waiting.get(&user) != Some(&Waiting::Ticket(ticket)) {
                continue; // left the queue
            }
            self.waiting.remove(&user);
            self.serving = ticket + 1;
            self.credit -= 1.0;
            self.admit(user, key, now);
        }
    }

    pub(super) fn admit(&mut self, user: i64, key: &[u8], now: DateTime<Utc>) {
        self.admissions += 1;
        self.recent.push_back(now);
        let jti = random_id();
        let claims = AdmissionClaims {
            sale: self.settings.id.clone(),
            user,
            jti: jti.clone(),
            exp: secs_after(now, TOKEN_MAX_LIFE.num_seconds()).timestamp(),
        };
        let idle_until = secs_after(now, self.settings.idle_secs);
        self.admitted.insert(
            user,
            Admission {
                jti,
                token: sign(&claims, key),
                idle_until,
                seq: self.admissions,
            },
        );
    }

    /// Ends idle admissions and forgets spent ids whose tokens have expired.
    pub(super) fn sweep(&mut self, now: DateTime<Utc>) {
        let idle: Vec<i64> = self
            .admitted
            .iter()
            .filter(|(_, a)| a.idle_until <= now)
            .map(|(u, _)| *u)
            .collect();
        for user in idle {
            self.end(user, now);
        }
        let now_ts = now.timestamp();
        self.spent.retain(|_, exp| *exp >= now_ts);
        let window_start = secs_after(now, -PACE_WINDOW_SECS);
        while self.recent.front().is_some_and(|t| *t < window_start) {
            self.recent.pop_front();
        }
    }

    /// Admissions per second lately: those of the last `PACE_WINDOW_SECS` (or
    /// since opening, if sooner); the configured rate until there are some.
    pub(super) fn pace(&self, now: DateTime<Utc>) -> f64 {
        if self.recent.len() < 10 {
            return self.settings.rate_per_sec.max(0.001);
        }
        let open_for = (now - self.settings.opens_at).num_milliseconds() as f64 / 1000.0;
        let span = open_for.clamp(1.0, PACE_WINDOW_SECS as f64);
        self.recent.len() as f64 / span
    }

    pub(super) fn end(&mut self, user: i64, now: DateTime<Utc>) {
        if let Some(a) = self.admitted.remove(&user) {
            // Kept until the longest a token can live; after that it fails anyway.
            let exp = secs_after(now, TOKEN_MAX_LIFE.num_seconds()).timestamp();
            self.spent.insert(a.jti, exp);
        }
    }

    pub(super) fn knows(&self, user: i64) -> bool {
        self.admitted.contains_key(&user) || self.waiting.contains_key(&user)
    }
}

/// How long to wait before asking again: a quarter of the expected wait, within bounds.
fn poll_after(wait_secs: u64) -> u64 {
    (wait_secs / 8).clamp(POLL_MIN_SECS, POLL_MAX_SECS)
}

pub(super) fn status_of(sale: &Sale, user: i64, now: DateTime<Utc>) -> Option<QueueStatus> {
    if let Some(a) = sale.admitted.get(&user) {
        return Some(QueueStatus::Admitted {
            token: a.token.clone(),
            expires_at: crate::domain::time::to_local_rfc3339(a.idle_until),
        });
    }
    match sale.waiting.get(&user)? {
        Waiting::PreQueue => Some(QueueStatus::PreQueue {
            opens_at: crate::domain::time::to_local_rfc3339(sale.settings.opens_at),
            waiting: sale.waiting.len(),
            poll_after_secs: poll_after((sale.settings.opens_at - now).num_seconds().max(0) as u64),
        }),
        Waiting::Ticket(ticket) => {
            let position = (ticket - sale.serving.min(*ticket)) as usize + 1;
            let wait = (position as f64 / sale.pace(now)).ceil() as u64;
            Some(QueueStatus::Waiting {
                position,
                estimated_wait_secs: wait,
                poll_after_secs: poll_after(wait),
            })
        }
    }
}
