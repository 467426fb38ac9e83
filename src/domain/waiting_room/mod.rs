//! The waiting room's rules, without I/O: a queued sale's settings and their
//! bounds, the pre-queue and its opening lottery, the FIFO of numbered
//! tickets, positions and wait estimates, admission at a rate under a cap on
//! active shoppers, leavers, idle expiry and spent admissions.
//!
//! Time is passed in (never read here) and randomness is injected, so every
//! rule is tested deterministically. `Sale` is the whole state machine, held
//! in memory by one process; a room shared by several processes (Redis) keeps
//! the same state in its own structures and reuses the pure parts: the
//! settings bounds, the admission's token claims, the pace and the estimates.
//! Signing tokens, finding sales and storing them belong to `app::queue`.

pub mod bounds;
mod estimate;
mod sale;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::admission::AdmissionClaims;
use super::ids::{TripId, UserId};

pub use estimate::{
    PACE_WINDOW_SECS, POLL_MAX_SECS, POLL_MIN_SECS, pace, poll_after, prequeue_poll, wait_secs,
};
pub use sale::{Place, Refusal, Sale};

/// How long an admission token is good for at most, however active its holder.
pub const TOKEN_MAX_LIFE: chrono::Duration = chrono::Duration::minutes(30);

/// What an admin sets when queueing a sale (the body of `POST /v1/admin/queue`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleSettings {
    pub id: String,
    pub opens_at: DateTime<Utc>,
    pub trip_ids: Vec<TripId>,
    /// Users admitted per second.
    pub rate_per_sec: f64,
    /// Shoppers admitted at once.
    pub max_active: usize,
    /// An admitted user idle this long loses the slot.
    pub idle_secs: i64,
}

/// A queued sale as every process knows it: its settings and whether an admin
/// has paused admission.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedSale {
    pub settings: SaleSettings,
    pub paused: bool,
}

/// An admin's live change to a sale; `None` leaves a setting as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SaleControl {
    pub paused: Option<bool>,
    pub rate_per_sec: Option<f64>,
    pub max_active: Option<usize>,
}

impl QueuedSale {
    /// The sale after `change`.
    pub fn with(mut self, change: SaleControl) -> QueuedSale {
        if let Some(p) = change.paused {
            self.paused = p;
        }
        if let Some(r) = change.rate_per_sec {
            self.settings.rate_per_sec = r;
        }
        if let Some(m) = change.max_active {
            self.settings.max_active = m;
        }
        self
    }
}

/// One user's admission: the slot they shop in until they check out, leave or
/// stay idle past `idle_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// Unique per admission, so the token of an ended one is known as a replay.
    pub jti: String,
    pub issued_at: DateTime<Utc>,
    pub idle_until: DateTime<Utc>,
    /// Order of admission within the sale, for fairness checks.
    pub seq: u64,
}

impl Admission {
    /// The id of admission number `seq` of a sale whose state was created with
    /// `nonce`: unique even when that state is lost and built again (new nonce).
    pub fn jti_for(nonce: u64, seq: u64) -> String {
        format!("{nonce:016x}-{seq}")
    }

    /// What the admission token says. The same admission always gives the same
    /// claims, so any process can sign its token again and get the same string.
    pub fn claims(&self, sale: &str, user: UserId) -> AdmissionClaims {
        AdmissionClaims {
            sale: sale.to_owned(),
            user: user.get(),
            jti: self.jti.clone(),
            exp: bounds::secs_after(self.issued_at, TOKEN_MAX_LIFE.num_seconds()).timestamp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admission_always_gives_the_same_claims_and_dies_after_thirty_minutes() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let a = Admission {
            jti: Admission::jti_for(0xabc, 7),
            issued_at: at,
            idle_until: at + chrono::Duration::seconds(60),
            seq: 7,
        };
        assert_eq!(a.jti, "0000000000000abc-7");
        let claims = a.claims("eid", UserId(5));
        assert_eq!(claims, a.claims("eid", UserId(5)));
        assert_eq!(claims.exp, at.timestamp() + 30 * 60);
        assert_eq!((claims.sale.as_str(), claims.user), ("eid", 5));
    }

    #[test]
    fn a_control_changes_only_what_it_names() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let sale = QueuedSale {
            settings: SaleSettings {
                id: "eid".into(),
                opens_at: now,
                trip_ids: vec![TripId(1)],
                rate_per_sec: 10.0,
                max_active: 5,
                idle_secs: 60,
            },
            paused: false,
        };
        let paused = sale.clone().with(SaleControl {
            paused: Some(true),
            ..SaleControl::default()
        });
        assert!(paused.paused);
        assert_eq!(paused.settings, sale.settings);
        let faster = sale.clone().with(SaleControl {
            rate_per_sec: Some(50.0),
            max_active: Some(9),
            paused: None,
        });
        assert_eq!(
            (faster.settings.rate_per_sec, faster.settings.max_active),
            (50.0, 9)
        );
        assert!(!faster.paused);
    }
}
