//! Reading the room scripts' replies (see `lua/room.lua` for what they write).

use chrono::{DateTime, Utc};

use crate::app::{AppError, AppResult};
use crate::domain::waiting_room::{Admission, Place, QueuedSale, pace};

pub(super) fn strings(v: redis::Value) -> AppResult<Vec<String>> {
    redis::from_redis_value(v).map_err(|e| AppError::Internal(format!("waiting room reply: {e}")))
}

pub(super) fn text(v: redis::Value) -> AppResult<String> {
    redis::from_redis_value(v).map_err(|e| AppError::Internal(format!("waiting room reply: {e}")))
}

pub(super) fn bad_reply(reply: &[String]) -> AppError {
    AppError::Internal(format!("waiting room reply not understood: {reply:?}"))
}

fn num<T: std::str::FromStr>(reply: &[String], i: usize) -> AppResult<T> {
    reply
        .get(i)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad_reply(reply))
}

fn millis(reply: &[String], i: usize) -> AppResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(num(reply, i)?).ok_or_else(|| bad_reply(reply))
}

/// A place as `lua/room.lua`'s `place` writes it.
pub(super) fn parse_place(
    reply: &[String],
    sale: &QueuedSale,
    now: DateTime<Utc>,
) -> AppResult<Option<Place>> {
    let place = match reply.first().map(String::as_str) {
        Some("none") => return Ok(None),
        Some("pre") => Place::PreQueue {
            waiting: num(reply, 1)?,
        },
        Some("wait") => Place::Waiting {
            position: num(reply, 1)?,
            pace: pace(
                num(reply, 2)?,
                sale.settings.opens_at,
                now,
                sale.settings.rate_per_sec,
            ),
        },
        Some("admitted") => Place::Admitted(Admission {
            seq: num(reply, 1)?,
            issued_at: millis(reply, 2)?,
            idle_until: millis(reply, 3)?,
            jti: reply.get(4).cloned().ok_or_else(|| bad_reply(reply))?,
        }),
        _ => return Err(bad_reply(reply)),
    };
    Ok(Some(place))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TripId;
    use crate::domain::waiting_room::SaleSettings;

    fn sale(opens_at: DateTime<Utc>) -> QueuedSale {
        QueuedSale {
            settings: SaleSettings {
                id: "eid".into(),
                opens_at,
                trip_ids: vec![TripId(1)],
                rate_per_sec: 4.0,
                max_active: 10,
                idle_secs: 60,
            },
            paused: false,
        }
    }

    fn reply(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn every_place_the_script_writes_is_read_back() {
        let opens = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
        let now = opens + chrono::Duration::seconds(20);
        let s = sale(opens);
        assert_eq!(parse_place(&reply(&["none"]), &s, now).unwrap(), None);
        assert_eq!(
            parse_place(&reply(&["pre", "812"]), &s, now).unwrap(),
            Some(Place::PreQueue { waiting: 812 })
        );
        // 50 admissions in the last 10 s: 5 a second, not the configured 4.
        assert_eq!(
            parse_place(&reply(&["wait", "3", "50"]), &s, now).unwrap(),
            Some(Place::Waiting {
                position: 3,
                pace: 5.0
            })
        );
        let admitted = parse_place(
            &reply(&["admitted", "7", "1800000001000", "1800000061000", "00ab-7"]),
            &s,
            now,
        )
        .unwrap();
        assert_eq!(
            admitted,
            Some(Place::Admitted(Admission {
                jti: "00ab-7".into(),
                issued_at: opens + chrono::Duration::seconds(1),
                idle_until: opens + chrono::Duration::seconds(61),
                seq: 7,
            }))
        );
        for bad in [&["wait", "x", "1"][..], &["admitted", "7"], &["what"], &[]] {
            assert!(parse_place(&reply(bad), &s, now).is_err(), "{bad:?}");
        }
    }
}
