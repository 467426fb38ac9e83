//! Best-seat choice when a passenger asks for a number of seats, not for
//! particular ones.
//!
//! 1. Same coach, adjacent seat numbers, when possible.
//! 2. Prefer seats whose free segments fit the journey tightly ("best fit"): a
//!    seat sold Dhaka→Feni is the best choice for Feni→Chattogram, because taking
//!    a wholly free seat instead would leave two half-sold seats and no seat for a
//!    Dhaka→Chattogram passenger. The slack of a seat is the number of free
//!    segments in the free run around the journey beyond the journey itself.
//! 3. Among equally good choices pick at random, so concurrent buyers of a hot
//!    trip spread over the coach instead of racing for the same lowest seat.

use rand::Rng;
use rand::seq::SliceRandom;

use super::SeatId;
use super::segment::{Journey, MAX_SEGMENTS, SegmentMask};

/// A seat as the allocator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub seat_id: SeatId,
    pub coach_seq: u32,
    pub seat_no: u32,
    pub taken: SegmentMask,
}

/// Free segments next to the journey that stay free but are fragmented by it.
pub fn slack(taken: SegmentMask, journey: Journey, segments: usize) -> u32 {
    let bits = taken.bits();
    let free = |seg: usize| bits & (1u64 << seg) == 0;
    let mut left = 0;
    let mut seg = journey.from_stop();
    while seg > 0 && free(seg - 1) {
        left += 1;
        seg -= 1;
    }
    let mut right = 0;
    let mut seg = journey.to_stop();
    while seg < segments.min(MAX_SEGMENTS) && free(seg) {
        right += 1;
        seg += 1;
    }
    left + right
}

/// Picks `count` seats free for `journey` from `seats` (all of the wanted class),
/// or `None` when fewer than `count` are free. `segments` is the trip's segment count.
pub fn choose_seats<R: Rng>(
    seats: &[Candidate],
    journey: Journey,
    segments: usize,
    count: usize,
    rng: &mut R,
) -> Option<Vec<SeatId>> {
    let mut free: Vec<(Candidate, u32)> = seats
        .iter()
        .filter(|s| !s.taken.overlaps(journey.mask()))
        .map(|s| (*s, slack(s.taken, journey, segments)))
        .collect();
    if count == 0 || free.len() < count {
        return None;
    }
    free.sort_by_key(|(s, _)| (s.coach_seq, s.seat_no));

    // Runs of `count` adjacent seats in one coach, scored by their total slack.
    let mut runs: Vec<(u32, usize)> = free
        .windows(count)
        .enumerate()
        .filter(|(_, w)| {
            w.windows(2).all(|p| {
                p[0].0.coach_seq == p[1].0.coach_seq && p[0].0.seat_no + 1 == p[1].0.seat_no
            })
        })
        .map(|(i, w)| (w.iter().map(|(_, sl)| *sl).sum(), i))
        .collect();
    if !runs.is_empty() {
        let best = runs
            .iter()
            .map(|(score, _)| *score)
            .min()
            .expect("non-empty");
        runs.retain(|(score, _)| *score == best);
        let (_, start) = *runs.choose(rng).expect("non-empty");
        return Some(
            free[start..start + count]
                .iter()
                .map(|(s, _)| s.seat_id)
                .collect(),
        );
    }

    // No adjacent run: the coach that can seat the group together, tightest seats first;
    // failing that, the tightest seats anywhere.
    let mut by_fit = free.clone();
    by_fit.shuffle(rng);
    by_fit.sort_by_key(|(_, sl)| *sl);
    let mut coaches: Vec<u32> = by_fit.iter().map(|(s, _)| s.coach_seq).collect();
    coaches.sort();
    coaches.dedup();
    for coach in coaches {
        let in_coach: Vec<SeatId> = by_fit
            .iter()
            .filter(|(s, _)| s.coach_seq == coach)
            .map(|(s, _)| s.seat_id)
            .take(count)
            .collect();
        if in_coach.len() == count {
            return Some(in_coach);
        }
    }
    Some(by_fit.iter().take(count).map(|(s, _)| s.seat_id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn seat(id: i64, coach: u32, no: u32, taken: u64) -> Candidate {
        Candidate {
            seat_id: SeatId(id),
            coach_seq: coach,
            seat_no: no,
            taken: SegmentMask::from_bits(taken),
        }
    }

    // Stops: 0 Dhaka, 1 Feni, 2 Chattogram → segments 0 (DHK–FNI), 1 (FNI–CTG).
    const SEGMENTS: usize = 2;

    #[test]
    fn a_half_sold_seat_is_preferred_for_the_other_half() {
        let seats = [seat(1, 0, 1, 0), seat(2, 0, 2, 0b01), seat(3, 0, 3, 0)];
        let feni_ctg = Journey::new(1, 2, 3).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        assert_eq!(
            choose_seats(&seats, feni_ctg, SEGMENTS, 1, &mut rng),
            Some(vec![SeatId(2)])
        );
    }

    #[test]
    fn groups_sit_together_in_one_coach() {
        let seats = [
            seat(1, 0, 1, 0),
            seat(2, 0, 2, 0b11),
            seat(3, 0, 3, 0),
            seat(4, 1, 1, 0),
            seat(5, 1, 2, 0),
        ];
        let full = Journey::new(0, 2, 3).unwrap();
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            assert_eq!(
                choose_seats(&seats, full, SEGMENTS, 2, &mut rng),
                Some(vec![SeatId(4), SeatId(5)])
            );
        }
    }

    #[test]
    fn not_enough_free_seats_is_none_and_taken_seats_are_never_chosen() {
        let seats = [seat(1, 0, 1, 0b11), seat(2, 0, 2, 0b10)];
        let full = Journey::new(0, 2, 3).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(choose_seats(&seats, full, SEGMENTS, 1, &mut rng), None);
        let first_leg = Journey::new(0, 1, 3).unwrap();
        assert_eq!(
            choose_seats(&seats, first_leg, SEGMENTS, 1, &mut rng),
            Some(vec![SeatId(2)])
        );
    }

    #[test]
    fn scattered_seats_when_no_pair_is_adjacent() {
        let seats = [
            seat(1, 0, 1, 0),
            seat(2, 0, 2, 0b11),
            seat(3, 0, 3, 0),
            seat(4, 1, 9, 0),
        ];
        let full = Journey::new(0, 2, 3).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let mut got = choose_seats(&seats, full, SEGMENTS, 2, &mut rng).unwrap();
        got.sort();
        assert_eq!(
            got,
            vec![SeatId(1), SeatId(3)],
            "same coach beats split coaches"
        );
    }
}
