use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::domain::TripTime;

fn pairs(q: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(q).unwrap()
}

fn parse(q: &str) -> Result<SearchQuery, ParseError> {
    SearchQuery::from_pairs(&pairs(q))
}

fn field_of(q: &str) -> &'static str {
    parse(q).expect_err(q).field
}

const BASE: &str = "from=DHK&to=CTG&date=2026-12-10";

#[test]
fn a_plain_query_is_the_old_search() {
    let q = parse(BASE).unwrap();
    let date = ServiceDate::parse("2026-12-10").unwrap();
    assert_eq!(q, SearchQuery::plain("DHK", "CTG", date));
}

#[test]
fn every_filter_parses() {
    let q = parse(&format!(
        "{BASE}&days=2&class=S_CHAIR&class=ac_b&class=S_CHAIR&train=701&train=702\
         &depart_after=06:00&depart_before=12:30&arrive_before=24:00\
         &fare_min=100&fare_max=900&min_free=2&sort=seats_free&ignored=1"
    ))
    .unwrap();
    assert_eq!(q.days, 2);
    assert_eq!(
        q.filters.classes,
        vec![SeatClass::ShovanChair, SeatClass::AcBerth]
    );
    assert_eq!(q.filters.trains, vec![701, 702]);
    assert_eq!(
        q.filters.depart,
        Some(TimeBand {
            after: 360,
            before: 750
        })
    );
    assert_eq!(
        q.filters.arrive,
        Some(TimeBand {
            after: 0,
            before: 1440
        })
    );
    assert_eq!(
        (q.filters.fare_min, q.filters.fare_max),
        (Some(100), Some(900))
    );
    assert_eq!(q.filters.min_free, Some(2));
    assert_eq!((q.sort, q.order), (SortKey::SeatsFree, SortOrder::Desc));
    assert_eq!(
        parse(&format!("{BASE}&sort=fare&order=desc"))
            .unwrap()
            .order,
        SortOrder::Desc
    );
}

#[test]
fn bad_values_name_their_field() {
    let cases = [
        ("from=&to=CTG&date=2026-12-10", "from"),
        ("from=DHK&date=2026-12-10", "to"),
        ("from=DHK&to=CTG", "date"),
        ("from=DHK&to=CTG&date=2026-13-10", "date"),
        ("days=8", "days"),
        ("days=-1", "days"),
        ("days=1&days=2", "days"),
        ("class=FIRST", "class"),
        ("train=0", "train"),
        ("train=10000", "train"),
        ("train=70x", "train"),
        ("depart_after=6:00", "depart_after"),
        ("depart_after=24:01", "depart_after"),
        ("depart_before=12:60", "depart_before"),
        ("arrive_after=25:00", "arrive_after"),
        ("arrive_before=ab:cd", "arrive_before"),
        ("depart_after=12:00&depart_before=06:00", "depart_before"),
        ("arrive_after=12:00&arrive_before=12:00", "arrive_before"),
        ("fare_min=-1", "fare_min"),
        ("fare_max=100001", "fare_max"),
        ("fare_min=500&fare_max=400", "fare_max"),
        ("min_free=0", "min_free"),
        ("min_free=99999999999999999999", "min_free"),
        ("sort=price", "sort"),
        ("order=up", "order"),
        ("sort=fare&sort=fare", "sort"),
    ];
    for (q, field) in cases {
        let q = if q.starts_with("from=") {
            q.to_owned()
        } else {
            format!("{BASE}&{q}")
        };
        assert_eq!(field_of(&q), field, "{q}");
    }
    let many: String = (1..=21).map(|n| format!("&train={n}")).collect();
    assert_eq!(field_of(&format!("{BASE}{many}")), "train");
}

#[test]
fn clocks_and_bands() {
    assert_eq!(parse_clock("x", "00:00").unwrap(), 0);
    assert_eq!(parse_clock("x", "23:59").unwrap(), 1439);
    assert_eq!(parse_clock("x", "24:00").unwrap(), 1440);
    for bad in ["", "0600", "06:0", "+6:00", "06:00:00", "٠٦:٠٠"] {
        assert!(parse_clock("x", bad).is_err(), "{bad}");
    }
    let morning = Band::Morning.band();
    assert!(morning.contains(360) && morning.contains(719) && !morning.contains(720));
    assert_eq!(Band::of(0), Band::Night);
    assert_eq!(Band::of(1439), Band::Evening);
}

fn at(date: ServiceDate, minutes: u32) -> DateTime<Utc> {
    date.at(TripTime::from_minutes(minutes))
}

fn day() -> ServiceDate {
    ServiceDate::parse("2026-12-10").unwrap()
}

fn offer(class: SeatClass, total: i64, free: i64) -> Offer {
    Offer { class, total, free }
}

fn cand(train: u32, dep: u32, arr: u32, offers: Vec<Offer>) -> Candidate {
    Candidate {
        train,
        date: day(),
        boards: at(day(), dep),
        alights: at(day(), arr),
        offers,
    }
}

fn sample() -> Vec<Candidate> {
    use SeatClass::*;
    vec![
        // 701 leaves 07:00, arrives 12:30; 702 16:30 → 21:25; 742 23:15 → 05:15+1.
        cand(
            701,
            420,
            750,
            vec![offer(ShovanChair, 405, 10), offer(AcSeat, 777, 0)],
        ),
        cand(
            702,
            990,
            1285,
            vec![offer(ShovanChair, 405, 3), offer(Snigdha, 777, 8)],
        ),
        cand(
            742,
            1395,
            1755,
            vec![offer(ShovanChair, 405, 50), offer(AcBerth, 1398, 2)],
        ),
        cand(9, 600, 700, vec![]),
    ]
}

fn trains_of(s: &Selection, c: &[Candidate]) -> Vec<u32> {
    s.hits.iter().map(|h| c[h.candidate].train).collect()
}

#[test]
fn filters_narrow_and_show_only_matching_classes() {
    let c = sample();
    let all = select(&Filters::default(), &c, SortKey::Departure, SortOrder::Asc);
    assert_eq!(trains_of(&all, &c), vec![701, 9, 702, 742]);
    let f = Filters {
        min_free: Some(5),
        ..Filters::default()
    };
    let s = select(&f, &c, SortKey::Departure, SortOrder::Asc);
    assert_eq!(trains_of(&s, &c), vec![701, 702, 742]);
    assert_eq!(
        s.hits[1].offers,
        vec![1],
        "702's S_CHAIR has 3 free: hidden"
    );
    let f = Filters {
        arrive: Some(Band::Night.band()),
        ..Filters::default()
    };
    assert_eq!(
        trains_of(&select(&f, &c, SortKey::Departure, SortOrder::Asc), &c),
        vec![742]
    );
    let f = Filters {
        fare_min: Some(700),
        fare_max: Some(800),
        trains: vec![701, 702],
        ..Filters::default()
    };
    let s = select(&f, &c, SortKey::Departure, SortOrder::Asc);
    assert_eq!(trains_of(&s, &c), vec![701, 702]);
    assert_eq!(
        s.facets.class,
        vec![
            (SeatClass::ShovanChair, 0),
            (SeatClass::Snigdha, 1),
            (SeatClass::AcSeat, 1),
            (SeatClass::AcBerth, 0)
        ]
    );
    assert_eq!(s.facets.train, vec![(9, 0), (701, 1), (702, 1), (742, 0)]);
}

#[test]
fn sort_orders() {
    let c = sample();
    let order = |k, o| trains_of(&select(&Filters::default(), &c, k, o), &c);
    assert_eq!(
        order(SortKey::Duration, SortOrder::Asc),
        vec![9, 702, 701, 742]
    );
    assert_eq!(order(SortKey::Fare, SortOrder::Asc), vec![701, 702, 742, 9]);
    assert_eq!(
        order(SortKey::Fare, SortOrder::Desc),
        vec![701, 702, 742, 9]
    );
    assert_eq!(
        order(SortKey::SeatsFree, SortOrder::Desc),
        vec![742, 702, 701, 9]
    );
    assert_eq!(
        order(SortKey::Departure, SortOrder::Desc),
        vec![742, 702, 9, 701]
    );
}

/// The faceting rule, checked by brute force: every facet value's count is
/// the number of trips the search returns with that value as the facet's only
/// choice and every other filter unchanged.
#[test]
fn facet_counts_equal_the_search_per_value() {
    let mut rng = StdRng::seed_from_u64(13);
    let classes = [
        SeatClass::Shovan,
        SeatClass::ShovanChair,
        SeatClass::Snigdha,
        SeatClass::AcBerth,
    ];
    for _ in 0..300 {
        let candidates: Vec<Candidate> = (0..rng.gen_range(0..12))
            .map(|_| {
                let dep = rng.gen_range(0..1440);
                let mut offers = Vec::new();
                for &c in &classes {
                    if rng.gen_bool(0.6) {
                        offers.push(offer(c, rng.gen_range(100..1500), rng.gen_range(0..20)));
                    }
                }
                let mut c = cand(
                    rng.gen_range(700..706),
                    dep,
                    dep + rng.gen_range(60..900),
                    offers,
                );
                c.date = day().add_days(rng.gen_range(0..3));
                c
            })
            .collect();
        let pick_band = |rng: &mut StdRng| {
            rng.gen_bool(0.4).then(|| {
                let after = rng.gen_range(0..1400);
                TimeBand {
                    after,
                    before: rng.gen_range(after + 1..=1440),
                }
            })
        };
        let filters = Filters {
            classes: classes
                .iter()
                .copied()
                .filter(|_| rng.gen_bool(0.2))
                .collect(),
            trains: (700..706).filter(|_| rng.gen_bool(0.2)).collect(),
            depart: pick_band(&mut rng),
            arrive: pick_band(&mut rng),
            fare_min: rng.gen_bool(0.3).then(|| rng.gen_range(100..800)),
            fare_max: rng.gen_bool(0.3).then(|| rng.gen_range(800..1500)),
            min_free: rng.gen_bool(0.3).then(|| rng.gen_range(1..15)),
        };
        let run = |f: &Filters| select(f, &candidates, SortKey::Departure, SortOrder::Asc);
        let got = run(&filters);
        for (class, n) in &got.facets.class {
            let f = Filters {
                classes: vec![*class],
                ..filters.clone()
            };
            assert_eq!(run(&f).hits.len() as u32, *n, "class {class} {filters:?}");
        }
        for (train, n) in &got.facets.train {
            let f = Filters {
                trains: vec![*train],
                ..filters.clone()
            };
            assert_eq!(run(&f).hits.len() as u32, *n, "train {train}");
        }
        for (band, n) in &got.facets.departure {
            let f = Filters {
                depart: Some(band.band()),
                ..filters.clone()
            };
            assert_eq!(run(&f).hits.len() as u32, *n, "departure {band:?}");
        }
        for (band, n) in &got.facets.arrival {
            let f = Filters {
                arrive: Some(band.band()),
                ..filters.clone()
            };
            assert_eq!(run(&f).hits.len() as u32, *n, "arrival {band:?}");
        }
        let per_date: u32 = got.facets.date.iter().map(|d| d.1).sum();
        assert_eq!(per_date as usize, got.hits.len());
    }
}
