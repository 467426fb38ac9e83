//! The errors use cases report. The server maps each to one HTTP status and
//! problem type (server/error.rs); the CLI prints them.

use chrono::{DateTime, Utc};

use super::nid::NidRefusal;
use crate::domain::ParseError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A value was well-formed but not acceptable (bad phone, bad date, unknown class…).
    /// Transparent, so an error chain (`{:#}` at the CLI) says it once, not twice.
    #[error(transparent)]
    Invalid(#[from] ParseError),
    #[error("no station is called '{query}'{}", did_you_mean(suggestions))]
    UnknownStation {
        query: String,
        suggestions: Vec<String>,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Wrong credentials or a bad, expired or tampered token. Deliberately vague.
    #[error("{0}")]
    Unauthorized(String),
    #[error("this account uses two-factor authentication: send the 6-digit code as 'totp'")]
    MfaRequired,
    #[error("{0}")]
    Forbidden(String),
    #[error("too many failed logins; try again after {until}")]
    Locked {
        until: DateTime<Utc>,
        /// Whole seconds from the app's "now" to `until`, at least 1.
        retry_after_secs: i64,
    },
    /// The seats are not (or no longer) free for that journey.
    #[error("{detail}")]
    SeatsUnavailable { detail: String, seats: Vec<String> },
    /// The server is at a capacity limit; the caller should retry shortly.
    #[error("{0}")]
    Overloaded(String),
    /// A service the request depends on (the shared waiting room) cannot be
    /// reached. The request is refused, never let through ungated; the caller
    /// should ask again after `retry_after_secs`.
    #[error("{detail}")]
    Unavailable {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("this Idempotency-Key was used with a different request body")]
    IdempotencyMismatch,
    /// An order with this Idempotency-Key is still being placed: ask again later,
    /// do not hold the seats again.
    #[error("{detail}")]
    OrderInProgress {
        detail: String,
        retry_after_secs: u64,
    },
    /// A cap on unexpired holds (per account or per client address) is reached.
    #[error(
        "at most {max} unexpired holds ({limit}); {already} already: order or release one first"
    )]
    HoldCap {
        limit: &'static str,
        max: i64,
        already: i64,
    },
    /// A fraud-velocity rule wants the user to prove again who they are:
    /// a code by one of `methods` ("totp", "sms") in `X-Step-Up-Code`.
    #[error("{reason}: confirm it is you with a step-up code ({})", methods.join(" or "))]
    StepUpRequired {
        rule: String,
        reason: String,
        methods: Vec<&'static str>,
    },
    /// A fraud-velocity rule blocked a subject of the request until an admin clears it.
    #[error("refused by the fraud checks ({rule}: {reason}); ask support to review it")]
    RiskBlocked { rule: String, reason: String },
    /// Too many step-up codes asked for.
    #[error("{detail}")]
    StepUpThrottled {
        detail: String,
        retry_after_secs: u64,
    },
    /// Refused over an NID (taken, missing, flagged, over a cap, not verified).
    #[error(transparent)]
    Nid(#[from] super::nid::NidRefusal),
    #[error(transparent)]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// An account locked until `until`, judged at `now` (the app's clock).
    pub fn locked(until: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
        AppError::Locked {
            until,
            retry_after_secs: (until - now).num_seconds().max(1),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::IdempotencyKeyUsed => {
                AppError::Conflict("this Idempotency-Key was already used".into())
            }
            StoreError::NotFound(m) => AppError::NotFound(m),
            StoreError::NidTaken => NidRefusal::Taken.into(),
            StoreError::NidRequired => NidRefusal::Required.into(),
            StoreError::NidFlagged => NidRefusal::Flagged.into(),
            StoreError::NidCapReached(r) => NidRefusal::Limit(r).into(),
            StoreError::HoldCapReached { cap, max, already } => AppError::HoldCap {
                limit: cap.name(),
                max,
                already,
            },
            StoreError::Unavailable(cause) => {
                // The cause is for the log; the client learns only to come back.
                tracing::warn!(error = %cause, "database unavailable");
                AppError::Unavailable {
                    detail: "the booking database is unavailable for a moment; please try \
                             again (an order sent again with the same Idempotency-Key is \
                             never placed or charged twice)"
                        .into(),
                    retry_after_secs: 2,
                }
            }
            StoreError::Fenced(cause) => AppError::Unavailable {
                detail: format!(
                    "this trip's home region cannot sell it right now ({cause}); please try again"
                ),
                retry_after_secs: 2,
            },
            other => AppError::Store(other),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(", "))
    }
}
