//! Narrowing, facet counting and ordering of candidate trips.
//!
//! Filters are of two kinds. Trip filters (train, departure band, arrival band)
//! keep or drop a whole trip. Class filters (class, fare range, free seats)
//! look at each class a trip offers: a trip is kept when at least one of its
//! classes passes them all, and only those classes are shown. With no class
//! filter a trip is kept whatever it offers, as the plain search always did.
//!
//! Facet counts follow the usual multi-select rule: each facet's counts are
//! taken with every filter applied except that facet's own, so a value's count
//! is the number of trips the search would return if that value were the
//! facet's only choice (choosing `class=AC_B` returns exactly the class
//! facet's `AC_B` count). The date facet counts the trips shown, per date.

use chrono::{DateTime, Timelike, Utc};
use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::{Filters, SortKey, SortOrder, TimeBand};
use crate::domain::time::dhaka;
use crate::domain::{SeatClass, ServiceDate};

/// One class a trip offers for the journey searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub class: SeatClass,
    /// Fare with VAT, whole taka.
    pub total: i64,
    pub free: i64,
}

/// One trip that runs the journey on a date of the range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub train: u32,
    /// The local date the passenger boards (not always the trip's service date).
    pub date: ServiceDate,
    pub boards: DateTime<Utc>,
    pub alights: DateTime<Utc>,
    pub offers: Vec<Offer>,
}

impl Candidate {
    fn duration(&self) -> i64 {
        (self.alights - self.boards).num_minutes()
    }
}

/// Local (Asia/Dhaka) clock time of `t`, in minutes after midnight.
pub fn minute_of_day(t: DateTime<Utc>) -> u32 {
    let local = t.with_timezone(&dhaka());
    local.hour() * 60 + local.minute()
}

/// The fixed bands the departure and arrival facets count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Band {
    Night,
    Morning,
    Afternoon,
    Evening,
}

impl Band {
    pub const ALL: [Band; 4] = [Band::Night, Band::Morning, Band::Afternoon, Band::Evening];

    pub fn of(minute_of_day: u32) -> Band {
        match minute_of_day / 360 {
            0 => Band::Night,
            1 => Band::Morning,
            2 => Band::Afternoon,
            _ => Band::Evening,
        }
    }

    pub fn band(self) -> TimeBand {
        let start = self as u32 * 360;
        TimeBand {
            after: start,
            before: start + 360,
        }
    }

    /// As the API names it: the `after`/`before` values that choose it.
    pub fn label(self) -> &'static str {
        match self {
            Band::Night => "00:00-06:00",
            Band::Morning => "06:00-12:00",
            Band::Afternoon => "12:00-18:00",
            Band::Evening => "18:00-24:00",
        }
    }
}

/// Per facet, each value with its count (see the module's rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FacetCounts {
    /// Every class offered by any candidate, in class order.
    pub class: Vec<(SeatClass, u32)>,
    /// Every train among the candidates, by number.
    pub train: Vec<(u32, u32)>,
    pub departure: Vec<(Band, u32)>,
    pub arrival: Vec<(Band, u32)>,
    /// Dates with at least one trip shown.
    pub date: Vec<(ServiceDate, u32)>,
}

/// A trip kept: its index among the candidates and the indexes of its classes shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub candidate: usize,
    pub offers: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// In the order asked for.
    pub hits: Vec<Hit>,
    pub facets: FacetCounts,
}

/// What each filter says of one candidate.
struct Verdict {
    train: bool,
    depart: bool,
    arrive: bool,
    /// Per offer: passes the fare and free-seat filters (the class filter aside).
    offer_rest: Vec<bool>,
    /// Per offer: also of a chosen class.
    offer_all: Vec<bool>,
}

impl Verdict {
    fn of(f: &Filters, c: &Candidate) -> Verdict {
        let in_band = |band: Option<TimeBand>, t| band.is_none_or(|b| b.contains(minute_of_day(t)));
        let offer_rest: Vec<bool> = c
            .offers
            .iter()
            .map(|o| {
                f.fare_min.is_none_or(|m| o.total >= m)
                    && f.fare_max.is_none_or(|m| o.total <= m)
                    && f.min_free.is_none_or(|m| o.free >= m)
            })
            .collect();
        let offer_all = c
            .offers
            .iter()
            .zip(&offer_rest)
            .map(|(o, rest)| *rest && (f.classes.is_empty() || f.classes.contains(&o.class)))
            .collect();
        Verdict {
            train: f.trains.is_empty() || f.trains.contains(&c.train),
            depart: in_band(f.depart, c.boards),
            arrive: in_band(f.arrive, c.alights),
            offer_rest,
            offer_all,
        }
    }

    /// The class filters pass (trivially, when none is set).
    fn classes_pass(&self, f: &Filters) -> bool {
        !f.on_classes() || self.offer_all.iter().any(|&ok| ok)
    }
}

/// Counts `key` once when `pass`; listed either way, so a value shows with 0.
fn count<K: Ord>(map: &mut BTreeMap<K, u32>, key: K, pass: bool) {
    *map.entry(key).or_insert(0) += u32::from(pass);
}

/// Narrows `candidates` by `filters`, counts the facets and orders the result.
pub fn select(
    filters: &Filters,
    candidates: &[Candidate],
    sort: SortKey,
    order: SortOrder,
) -> Selection {
    let mut class: BTreeMap<SeatClass, u32> = BTreeMap::new();
    let mut train: BTreeMap<u32, u32> = BTreeMap::new();
    let mut departure: BTreeMap<Band, u32> = Band::ALL.iter().map(|b| (*b, 0)).collect();
    let mut arrival = departure.clone();
    let mut date: BTreeMap<ServiceDate, u32> = BTreeMap::new();
    let mut hits = Vec::new();

    for (i, c) in candidates.iter().enumerate() {
        let v = Verdict::of(filters, c);
        let classes = v.classes_pass(filters);
        count(&mut train, c.train, v.depart && v.arrive && classes);
        count(
            &mut departure,
            Band::of(minute_of_day(c.boards)),
            v.train && v.arrive && classes,
        );
        count(
            &mut arrival,
            Band::of(minute_of_day(c.alights)),
            v.train && v.depart && classes,
        );
        for (o, rest) in c.offers.iter().zip(&v.offer_rest) {
            count(
                &mut class,
                o.class,
                v.train && v.depart && v.arrive && *rest,
            );
        }
        if v.train && v.depart && v.arrive && classes {
            *date.entry(c.date).or_insert(0) += 1;
            let offers = (0..c.offers.len()).filter(|&k| v.offer_all[k]).collect();
            hits.push(Hit {
                candidate: i,
                offers,
            });
        }
    }
    sort_hits(&mut hits, candidates, sort, order);
    Selection {
        hits,
        facets: FacetCounts {
            class: class.into_iter().collect(),
            train: train.into_iter().collect(),
            departure: departure.into_iter().collect(),
            arrival: arrival.into_iter().collect(),
            date: date.into_iter().collect(),
        },
    }
}

/// Orders by the key (reversed for `Desc`), then by departure and train
/// number, so equal keys keep the timetable's order either way.
fn sort_hits(hits: &mut [Hit], candidates: &[Candidate], sort: SortKey, order: SortOrder) {
    let key = |h: &Hit| -> Option<i64> {
        let c = &candidates[h.candidate];
        let shown = || h.offers.iter().map(|&k| c.offers[k]);
        match sort {
            SortKey::Departure => Some(c.boards.timestamp()),
            SortKey::Duration => Some(c.duration()),
            SortKey::Fare => shown().map(|o| o.total).min(),
            SortKey::SeatsFree => Some(shown().map(|o| o.free).sum()),
        }
    };
    hits.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        // A trip with no fare to compare goes last in either order.
        let primary = match (ka, kb) {
            (Some(x), Some(y)) => match order {
                SortOrder::Asc => x.cmp(&y),
                SortOrder::Desc => y.cmp(&x),
            },
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        let (ca, cb) = (&candidates[a.candidate], &candidates[b.candidate]);
        primary.then_with(|| (ca.boards, ca.train).cmp(&(cb.boards, cb.train)))
    });
}
