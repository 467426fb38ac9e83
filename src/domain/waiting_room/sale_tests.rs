//! The sale's rules on a manual timeline and a seeded lottery.

use super::*;
use crate::domain::TripId;
use crate::domain::waiting_room::{POLL_MAX_SECS, poll_after, wait_secs};
use chrono::Duration;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn sale(opens_at: DateTime<Utc>, rate: f64, max_active: usize, idle_secs: i64) -> Sale {
    Sale::new(
        QueuedSale {
            settings: SaleSettings {
                id: "eid".into(),
                opens_at,
                trip_ids: vec![TripId(1)],
                rate_per_sec: rate,
                max_active,
                idle_secs,
            },
            paused: false,
        },
        42,
    )
}

fn position(p: Option<Place>) -> Option<usize> {
    match p {
        Some(Place::Waiting { position, .. }) => Some(position),
        _ => None,
    }
}

fn admission(p: Option<Place>) -> Admission {
    match p {
        Some(Place::Admitted(a)) => a,
        other => panic!("not admitted: {other:?}"),
    }
}

#[test]
fn a_big_queue_keeps_order_and_skips_those_who_left() {
    let rng = &mut StdRng::seed_from_u64(1);
    let opens = t0() + Duration::seconds(10);
    let mut s = sale(opens, 100.0, 100, 60);
    // 20,000 arrive before opening.
    for user in 0..20_000 {
        s.join(UserId(user), t0(), rng);
    }
    // Opening draws their order and admits a second's worth (100).
    s.status(UserId(0), opens, rng);
    let first = s.admission_order();
    assert_eq!(first.len(), 100);
    assert_ne!(
        first,
        (0..100).map(UserId).collect::<Vec<_>>(),
        "drawn by lot, not by arrival"
    );
    // 30,000 more queue behind the whole pre-queue, in arrival order.
    for user in 20_000..50_000 {
        let p = s.join(UserId(user), opens, rng);
        assert_eq!(position(Some(p)), Some(user as usize - 100 + 1));
    }
    // The next two in line leave; their turns are skipped.
    let mut next_in_line = |s: &mut Sale, p: usize| {
        (0..20_000)
            .map(UserId)
            .find(|u| position(s.status(*u, opens, rng)) == Some(p))
            .unwrap()
    };
    let leavers = vec![next_in_line(&mut s, 1), next_in_line(&mut s, 2)];
    for u in &leavers {
        s.leave(*u, opens);
        assert_eq!(s.status(*u, opens, rng), None);
    }
    // The first 100 check out; a second later the next 100 come in.
    for u in &first {
        s.check_out(*u, opens);
    }
    let later = opens + Duration::seconds(1);
    s.status(UserId(49_999), later, rng);
    let second = s.admission_order();
    assert_eq!(second.len(), 100);
    assert!(
        second
            .iter()
            .all(|u| u.get() < 20_000 && !leavers.contains(u))
    );
    // 202 tickets are served (2 skipped): 49,797 people are ahead of the last.
    assert_eq!(position(s.status(UserId(49_999), later, rng)), Some(49_798));
}

#[test]
fn the_lottery_is_the_injected_generators_draw() {
    let draw = |seed| {
        let rng = &mut StdRng::seed_from_u64(seed);
        let mut s = sale(t0() + Duration::seconds(1), 1000.0, 1000, 60);
        for user in 0..50 {
            assert_eq!(
                s.join(UserId(user), t0(), rng),
                Place::PreQueue {
                    waiting: user as usize + 1
                }
            );
        }
        s.status(UserId(0), t0() + Duration::seconds(1), rng);
        s.admission_order()
    };
    assert_eq!(draw(7), draw(7), "the same seed draws the same order");
    assert_ne!(draw(7), draw(8));
    let mut everyone = draw(7);
    everyone.sort();
    assert_eq!(everyone, (0..50).map(UserId).collect::<Vec<_>>());
}

#[test]
fn admission_keeps_to_the_rate_and_the_cap_and_stops_when_paused() {
    let rng = &mut StdRng::seed_from_u64(3);
    let mut s = sale(t0(), 2.0, 3, 60);
    for user in 0..6 {
        s.join(UserId(user), t0(), rng);
    }
    assert_eq!(s.admission_order().len(), 2, "a second's worth at 2/s");
    s.status(UserId(0), t0() + Duration::milliseconds(1600), rng);
    assert_eq!(s.admission_order().len(), 3, "never more than max_active");
    s.leave(UserId(0), t0() + Duration::milliseconds(1600));
    s.control(SaleControl {
        paused: Some(true),
        ..SaleControl::default()
    });
    s.status(UserId(1), t0() + Duration::seconds(5), rng);
    assert_eq!(s.admission_order().len(), 2, "paused: the freed slot waits");
    s.control(SaleControl {
        paused: Some(false),
        rate_per_sec: Some(50.0),
        max_active: None,
    });
    s.status(UserId(1), t0() + Duration::milliseconds(5100), rng);
    assert_eq!(s.admission_order().len(), 3, "resumed");
    assert_eq!(s.admission_order()[..2], [UserId(1), UserId(2)]);
}

#[test]
fn only_the_current_admission_passes_and_idling_ends_it() {
    let rng = &mut StdRng::seed_from_u64(4);
    let mut s = sale(t0(), 10.0, 10, 60);
    let alice = admission(Some(s.join(UserId(1), t0(), rng)));
    let bob = admission(Some(s.join(UserId(2), t0(), rng)));
    assert_ne!(alice.jti, bob.jti);
    assert_eq!(alice.idle_until, t0() + Duration::seconds(60));
    assert_eq!(
        s.touch(UserId(1), &bob.jti, t0(), rng),
        Err(Refusal::Expired),
        "someone else's admission"
    );
    // Activity at 59 s keeps Alice for another minute; Bob idles out at 60 s.
    let at59 = t0() + Duration::seconds(59);
    assert_eq!(s.touch(UserId(1), &alice.jti, at59, rng), Ok(()));
    let at60 = t0() + Duration::seconds(60);
    assert_eq!(
        s.touch(UserId(2), &bob.jti, at60, rng),
        Err(Refusal::Replay),
        "ended by the idle sweep: its id is spent"
    );
    assert_eq!(
        s.status(UserId(2), at60, rng),
        None,
        "Bob has to join again"
    );
    let alice_now = admission(s.status(UserId(1), at60, rng));
    assert_eq!(alice_now.idle_until, at59 + Duration::seconds(60));
    // Bob joins again: a new admission, with a new id.
    let again = admission(Some(s.join(UserId(2), at60, rng)));
    assert_ne!(again.jti, bob.jti);
}

#[test]
fn spent_admissions_are_refused_then_forgotten_after_their_tokens_expire() {
    let rng = &mut StdRng::seed_from_u64(5);
    let mut s = sale(t0(), 10.0, 10, 60);
    let a = admission(Some(s.join(UserId(7), t0(), rng)));
    assert_eq!(s.touch(UserId(7), &a.jti, t0(), rng), Ok(()));
    s.check_out(UserId(7), t0());
    assert_eq!(s.touch(UserId(7), &a.jti, t0(), rng), Err(Refusal::Replay));
    let much_later = t0() + TOKEN_MAX_LIFE + Duration::minutes(1);
    s.status(UserId(8), much_later, rng);
    assert!(s.spent.is_empty(), "the spent id is forgotten");
}

#[test]
fn the_wait_follows_the_pace_the_room_really_admits_at() {
    let rng = &mut StdRng::seed_from_u64(6);
    // A generous rate, but only 10 slots: admission is slot-bound.
    let mut s = sale(t0(), 1000.0, 10, 600);
    for user in 0..1_000 {
        s.join(UserId(user), t0(), rng);
    }
    // Over 10 seconds, 10 shoppers finish each second and 10 more come in.
    for sec in 1..=10 {
        let now = t0() + Duration::seconds(sec);
        for user in s.admission_order() {
            s.leave(user, now);
        }
        s.status(UserId(999), now, rng);
    }
    let now = t0() + Duration::seconds(10);
    let Some(Place::Waiting { position, pace }) = s.status(UserId(999), now, rng) else {
        panic!("still waiting");
    };
    // ~10 admissions a second, not 1,000: about position / 10 seconds.
    let wait = wait_secs(position, pace);
    let expected = position as u64 / 10;
    assert!(
        wait >= expected * 8 / 10 && wait <= expected * 12 / 10 + 1,
        "position {position}, wait {wait}, expected about {expected}"
    );
    assert_eq!(poll_after(wait), POLL_MAX_SECS, "a long wait polls seldom");
}
