//! One queued sale as a state machine, kept whole in one process's memory: the
//! pre-queue drawn by lot at opening, the FIFO of numbered tickets, admissions
//! at a rate under a cap, idle sweeps, spent admission ids, and the recent
//! admissions that wait estimates come from.
//!
//! Every step costs O(1) whatever the queue's length (an Eid sale queues
//! millions): users are found by hash, the queue is a FIFO of numbered tickets
//! (users who leave are skipped when their turn comes), a position is "your
//! number − now serving" (so it may count people ahead who since left: it
//! never shows anyone nearer than they are), idle admissions are swept at most
//! every 200 ms, and ids of spent admissions are forgotten once their token
//! has expired anyway. The opening lottery touches each early arrival once.

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::seq::SliceRandom;
use std::collections::{HashMap, VecDeque};

use super::bounds::secs_after;
use super::estimate::{PACE_WINDOW_SECS, pace};
use super::{Admission, QueuedSale, SaleControl, SaleSettings, TOKEN_MAX_LIFE};
use crate::domain::UserId;

/// How often idle admissions are looked for (each request ticks the sale).
const SWEEP_EVERY_MS: i64 = 200;

/// Where a user stands in a sale.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// Before opening, with `waiting` others; the order is drawn at opening.
    PreQueue { waiting: usize },
    /// In the queue: position 1 is next; `pace` is admissions a second lately.
    Waiting { position: usize, pace: f64 },
    /// Admitted: shopping until checkout, leaving or idling too long.
    Admitted(Admission),
}

/// Why a genuine admission token of this sale and user is not honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Its admission ended (checkout or leaving): the token is spent.
    #[error("the token was already used up (replay)")]
    Replay,
    /// Its admission lapsed (idle too long) or was replaced.
    #[error("the admission token has expired; join the queue again")]
    Expired,
}

/// Where a user who has not been admitted waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// Before opening; the order is drawn at opening.
    PreQueue,
    /// In the queue with this ticket number.
    Ticket(u64),
}

pub struct Sale {
    settings: SaleSettings,
    paused: bool,
    /// Makes this state's admission ids differ from those of any earlier state
    /// of the same sale (a restarted process starts the room afresh).
    nonce: u64,
    opened: bool,
    /// Arrivals before opening, in arrival order (shuffled at opening).
    prequeue: Vec<UserId>,
    /// Tickets in order; an entry whose user left (or was re-queued) is skipped.
    queue: VecDeque<(u64, UserId)>,
    waiting: HashMap<UserId, Waiting>,
    next_ticket: u64,
    /// The ticket number of the next user to be admitted.
    serving: u64,
    admitted: HashMap<UserId, Admission>,
    /// Ids of admissions that ended, kept until their token is dead anyway:
    /// a token carrying one is a replay.
    spent: HashMap<String, DateTime<Utc>>,
    credit: f64,
    last_tick: Option<DateTime<Utc>>,
    last_sweep: Option<DateTime<Utc>>,
    admissions: u64,
    /// When recent admissions happened (the last `PACE_WINDOW_SECS`), for the pace.
    recent: VecDeque<DateTime<Utc>>,
}

impl Sale {
    pub fn new(sale: QueuedSale, nonce: u64) -> Self {
        Sale {
            settings: sale.settings,
            paused: sale.paused,
            nonce,
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

    pub fn settings(&self) -> &SaleSettings {
        &self.settings
    }

    /// Pauses or resumes admission, or changes its rate or cap, live. The
    /// values are bounded by the caller (`bounds::check_control`).
    pub fn control(&mut self, change: SaleControl) {
        if let Some(p) = change.paused {
            self.paused = p;
        }
        if let Some(r) = change.rate_per_sec {
            self.settings.rate_per_sec = r;
        }
        if let Some(m) = change.max_active {
            self.settings.max_active = m;
        }
    }

    /// Joins the pre-queue (before opening) or the back of the queue; a user
    /// already waiting or admitted keeps their place.
    pub fn join<R: Rng + ?Sized>(
        &mut self,
        user: UserId,
        now: DateTime<Utc>,
        rng: &mut R,
    ) -> Place {
        self.tick(now, rng);
        if !self.knows(user) {
            if self.opened {
                self.enqueue(user);
            } else {
                self.prequeue.push(user);
                self.waiting.insert(user, Waiting::PreQueue);
            }
            // A newcomer to a room with free slots is admitted at once.
            self.tick(now, rng);
        }
        self.place(user, now)
            .expect("a user who just joined has a place")
    }

    /// Where `user` stands now, or None if they are not in the room.
    pub fn status<R: Rng + ?Sized>(
        &mut self,
        user: UserId,
        now: DateTime<Utc>,
        rng: &mut R,
    ) -> Option<Place> {
        self.tick(now, rng);
        self.place(user, now)
    }

    /// Leaves the queue or gives up the admission, freeing the slot.
    pub fn leave(&mut self, user: UserId, now: DateTime<Utc>) {
        // Queue and pre-queue entries are skipped when their turn comes.
        self.waiting.remove(&user);
        self.end(user, now);
    }

    /// Honours admission `jti` of `user` (its token already checked): only
    /// their current, unexpired admission passes, and using it counts as activity.
    pub fn touch<R: Rng + ?Sized>(
        &mut self,
        user: UserId,
        jti: &str,
        now: DateTime<Utc>,
        rng: &mut R,
    ) -> Result<(), Refusal> {
        self.tick(now, rng);
        if self.spent.contains_key(jti) {
            return Err(Refusal::Replay);
        }
        let idle_secs = self.settings.idle_secs;
        let admission = self
            .admitted
            .get_mut(&user)
            .filter(|a| a.jti == jti && a.idle_until > now)
            .ok_or(Refusal::Expired)?;
        admission.idle_until = secs_after(now, idle_secs);
        Ok(())
    }

    /// Ends the user's admission after a checkout: its token is spent and the
    /// slot goes to the next in line.
    pub fn check_out(&mut self, user: UserId, now: DateTime<Utc>) {
        self.end(user, now);
    }

    /// Users waiting (pre-queue and queue), users admitted now, and
    /// admissions made since the sale started, as last ticked (monitoring).
    pub fn census(&self) -> (usize, usize, u64) {
        (self.waiting.len(), self.admitted.len(), self.admissions)
    }

    /// The users admitted now, in the order they were admitted (tests and operators).
    pub fn admission_order(&self) -> Vec<UserId> {
        let mut seen: Vec<(u64, UserId)> = self.admitted.iter().map(|(u, a)| (a.seq, *u)).collect();
        seen.sort();
        seen.into_iter().map(|(_, u)| u).collect()
    }

    fn enqueue(&mut self, user: UserId) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.push_back((ticket, user));
        self.waiting.insert(user, Waiting::Ticket(ticket));
    }

    /// Opens (drawing the pre-queue's order once), ends idle admissions and admits at the rate.
    fn tick<R: Rng + ?Sized>(&mut self, now: DateTime<Utc>, rng: &mut R) {
        if now < self.settings.opens_at {
            return;
        }
        if !self.opened {
            self.opened = true;
            let mut early = std::mem::take(&mut self.prequeue);
            early.shuffle(rng);
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
            self.admit(user, now);
        }
    }

    fn admit(&mut self, user: UserId, now: DateTime<Utc>) {
        self.admissions += 1;
        self.recent.push_back(now);
        let admission = Admission {
            jti: Admission::jti_for(self.nonce, self.admissions),
            issued_at: now,
            idle_until: secs_after(now, self.settings.idle_secs),
            seq: self.admissions,
        };
        self.admitted.insert(user, admission);
    }

    /// Ends idle admissions and forgets spent ids whose tokens have expired.
    fn sweep(&mut self, now: DateTime<Utc>) {
        let idle: Vec<UserId> = self
            .admitted
            .iter()
            .filter(|(_, a)| a.idle_until <= now)
            .map(|(u, _)| *u)
            .collect();
        for user in idle {
            self.end(user, now);
        }
        self.spent.retain(|_, forget_at| *forget_at >= now);
        let window_start = secs_after(now, -PACE_WINDOW_SECS);
        while self.recent.front().is_some_and(|t| *t < window_start) {
            self.recent.pop_front();
        }
    }

    fn end(&mut self, user: UserId, now: DateTime<Utc>) {
        if let Some(a) = self.admitted.remove(&user) {
            // Kept until the longest a token can live; after that it fails anyway.
            let forget_at = secs_after(now, TOKEN_MAX_LIFE.num_seconds());
            self.spent.insert(a.jti, forget_at);
        }
    }

    fn knows(&self, user: UserId) -> bool {
        self.admitted.contains_key(&user) || self.waiting.contains_key(&user)
    }

    fn place(&self, user: UserId, now: DateTime<Utc>) -> Option<Place> {
        if let Some(a) = self.admitted.get(&user) {
            return Some(Place::Admitted(a.clone()));
        }
        match self.waiting.get(&user)? {
            Waiting::PreQueue => Some(Place::PreQueue {
                waiting: self.waiting.len(),
            }),
            Waiting::Ticket(ticket) => Some(Place::Waiting {
                position: (ticket - self.serving.min(*ticket)) as usize + 1,
                pace: pace(
                    self.recent.len(),
                    self.settings.opens_at,
                    now,
                    self.settings.rate_per_sec,
                ),
            }),
        }
    }
}

#[cfg(test)]
#[path = "sale_tests.rs"]
mod tests;
