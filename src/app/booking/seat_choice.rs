//! Which seats a hold asks the store for: the seats named in the request, or
//! seats chosen from the availability snapshot. The store's conditional write
//! decides; a count-based hold that loses a race chooses again from a fresh
//! read (see `App::hold_seats_via`).
//!
//! Chooses only: may not write to the store or change the availability snapshot.

use crate::domain::allocation::{Candidate, choose_seats};
use crate::domain::{Journey, ParseError, SeatClass, SeatId};

use crate::app::AppResult;
use crate::app::availability::TripSeats;

/// The seat ids for a hold, or `Ok(None)` when the snapshot shows fewer than
/// `wanted` seats of `class` free for `journey`.
/// Seats in a coach of `off_sale` are never chosen, and naming one is refused.
pub(crate) fn seats_for_hold(
    snapshot: &TripSeats,
    class: SeatClass,
    named: Option<&[String]>,
    journey: Journey,
    segments: usize,
    wanted: usize,
    off_sale: &[String],
) -> AppResult<Option<Vec<SeatId>>> {
    let Some(labels) = named else {
        let candidates: Vec<Candidate> = snapshot
            .of_class(class)
            .filter(|(s, _)| !off_sale.contains(&s.coach_code))
            .map(|(s, taken)| Candidate {
                seat_id: s.id,
                coach_seq: s.coach_seq,
                seat_no: s.seat_no,
                taken,
            })
            .collect();
        return Ok(choose_seats(
            &candidates,
            journey,
            segments,
            wanted,
            &mut rand::thread_rng(),
        ));
    };
    let mut ids = Vec::with_capacity(labels.len());
    for label in labels {
        let (seat, _) = snapshot
            .of_class(class)
            .find(|(s, _)| s.label().eq_ignore_ascii_case(label.trim()))
            .ok_or_else(|| {
                ParseError::new("seats", format!("no {class} seat {label} on this trip"))
            })?;
        if off_sale.contains(&seat.coach_code) {
            return Err(crate::app::AppError::Conflict(format!(
                "coach {} of this trip is not on sale",
                seat.coach_code
            )));
        }
        if ids.contains(&seat.id) {
            return Err(ParseError::new("seats", format!("seat {label} is listed twice")).into());
        }
        ids.push(seat.id);
    }
    Ok(Some(ids))
}
