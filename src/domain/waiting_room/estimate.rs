//! What a waiting user is told: how fast the room really admits, how long
//! their wait looks, and when to ask again. Shared by every kind of room, so a
//! passenger hears the same answer whichever keeps the queue.

use chrono::{DateTime, Utc};

/// Admissions of this recent past give the pace used for wait estimates.
pub const PACE_WINDOW_SECS: i64 = 10;
/// With fewer admissions than this in the window, the configured rate is used.
const PACE_MIN_SAMPLES: usize = 10;
/// Waiting users are told to poll no more often than this, and no less.
pub const POLL_MIN_SECS: u64 = 1;
pub const POLL_MAX_SECS: u64 = 5;

/// Admissions per second lately: `recent` admissions in the last
/// `PACE_WINDOW_SECS` (or since opening, if sooner); the configured rate until
/// there are enough. Slots free up only as shoppers finish, so the configured
/// rate alone would promise too much.
pub fn pace(recent: usize, opens_at: DateTime<Utc>, now: DateTime<Utc>, rate_per_sec: f64) -> f64 {
    if recent < PACE_MIN_SAMPLES {
        return rate_per_sec.max(0.001);
    }
    let open_for = (now - opens_at).num_milliseconds() as f64 / 1000.0;
    let span = open_for.clamp(1.0, PACE_WINDOW_SECS as f64);
    recent as f64 / span
}

/// Seconds until the user at `position` is admitted, at `pace` admissions a second.
pub fn wait_secs(position: usize, pace: f64) -> u64 {
    (position as f64 / pace.max(0.001)).ceil() as u64
}

/// How long to wait before asking again: an eighth of the expected wait,
/// within bounds (a crowd polling flat out would crowd out the sale).
pub fn poll_after(wait_secs: u64) -> u64 {
    (wait_secs / 8).clamp(POLL_MIN_SECS, POLL_MAX_SECS)
}

/// When a user in the pre-queue should ask again, judged by the time to opening.
pub fn prequeue_poll(opens_at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    poll_after((opens_at - now).num_seconds().max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn the_pace_is_the_rate_until_admissions_show_the_real_one() {
        let opens = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let now = opens + Duration::seconds(30);
        assert_eq!(pace(9, opens, now, 250.0), 250.0);
        // 50 admissions in the 10-second window: 5 a second, whatever the rate.
        assert_eq!(pace(50, opens, now, 250.0), 5.0);
        // Two seconds after opening the window is those two seconds.
        assert_eq!(pace(50, opens, opens + Duration::seconds(2), 250.0), 25.0);
        assert!(pace(0, opens, now, 0.0) > 0.0, "never divides by zero");
    }

    #[test]
    fn waits_round_up_and_polls_stay_within_bounds() {
        assert_eq!(wait_secs(1, 10.0), 1);
        assert_eq!(wait_secs(25, 10.0), 3);
        assert_eq!(poll_after(0), POLL_MIN_SECS);
        assert_eq!(poll_after(16), 2);
        assert_eq!(poll_after(10_000), POLL_MAX_SECS);
        let opens = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(
            prequeue_poll(opens, opens + Duration::seconds(5)),
            POLL_MIN_SECS
        );
        assert_eq!(
            prequeue_poll(opens, opens - Duration::hours(1)),
            POLL_MAX_SECS
        );
    }
}
