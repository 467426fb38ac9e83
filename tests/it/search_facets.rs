//! Faceted trip search over HTTP on both backends, on the real network: the
//! filters narrow, the facet counts equal the search done per value (random
//! real station pairs, seeded), the sort orders hold, bad parameters are 422s
//! that change nothing, and the answers follow seat and catalog changes.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};
use ticketctl::app::seed::Quiet;
use ticketctl::domain::{Role, ServiceDate};

use crate::common::booking_flow;
use crate::common::server::{TestApp, tiny_trip};

fn today(t: &TestApp) -> ServiceDate {
    ServiceDate::today_at(t.app.now())
}

/// Seeds the network and the trips of the next `days` days from tomorrow.
async fn seed_network(t: &TestApp, days: i64) -> ServiceDate {
    let tomorrow = today(t).add_days(1);
    let dates: Vec<ServiceDate> = (0..days).map(|d| tomorrow.add_days(d)).collect();
    let mut report = t.app.seed_network(&Quiet).await.expect("seed network");
    t.app
        .seed_trips(&dates, &mut report, &Quiet)
        .await
        .expect("seed trips");
    tomorrow
}

async fn search(t: &TestApp, query: &str) -> Value {
    let r = t.get(&format!("/v1/trips?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
    r.body
}

fn trips(body: &Value) -> &Vec<Value> {
    body["trips"].as_array().expect("trips")
}

fn facet(body: &Value, name: &str) -> Vec<(String, u64)> {
    body["facets"][name]
        .as_array()
        .unwrap_or_else(|| panic!("facet {name} in {body}"))
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap().to_owned(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `06:00-12:00` → `depart_after=06:00&depart_before=12:00` (with `prefix` depart or arrive).
fn band_query(prefix: &str, band: &str) -> String {
    let (after, before) = band.split_once('-').unwrap();
    format!("{prefix}_after={after}&{prefix}_before={before}")
}

/// Every facet value's count equals the number of trips the same search
/// returns with that value chosen (replacing the facet's own filter).
async fn assert_facets_match(t: &TestApp, base: &str, extra: &str) {
    let query = format!("{base}{extra}");
    let body = search(t, &query).await;
    // Drop the facet's own filter from `extra` when choosing one of its values.
    let without = |names: &[&str]| -> String {
        extra
            .split('&')
            .filter(|kv| !kv.is_empty() && !names.iter().any(|n| kv.starts_with(&format!("{n}="))))
            .map(|kv| format!("&{kv}"))
            .collect()
    };
    let checks: [(&str, &[&str]); 4] = [
        ("class", &["class"]),
        ("train", &["train"]),
        ("departure", &["depart_after", "depart_before"]),
        ("arrival", &["arrive_after", "arrive_before"]),
    ];
    let mut checked = 0;
    for (name, params) in checks {
        for (value, count) in facet(&body, name) {
            let choose = match name {
                "class" => format!("class={value}"),
                "train" => format!("train={value}"),
                "departure" => band_query("depart", &value),
                _ => band_query("arrive", &value),
            };
            let q = format!("{base}{}&{choose}", without(params));
            let chosen = search(t, &q).await;
            assert_eq!(
                trips(&chosen).len() as u64,
                count,
                "facet {name}={value} of {query} against {q}"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no facet values for {query}");
    let per_date: u64 = facet(&body, "date").iter().map(|d| d.1).sum();
    assert_eq!(per_date, trips(&body).len() as u64, "{query}");
}

/// Random real station pairs (two stops of a random fixture train, seeded):
/// the counts agree with the plain search, and with per-value searches with
/// and without other filters in force.
async fn facet_counts_agree_with_plain_search_on_random_pairs(t: TestApp) {
    let first = seed_network(&t, 2).await;
    let trains = t.app.trains().await.unwrap();
    let mut rng = StdRng::seed_from_u64(20261202);
    let mut pairs = Vec::new();
    while pairs.len() < 5 {
        let train = &trains.choose(&mut rng).unwrap().train;
        let i = rng.gen_range(0..train.stops.len() - 1);
        let j = rng.gen_range(i + 1..train.stops.len());
        let pair = (
            train.stops[i].station.clone(),
            train.stops[j].station.clone(),
        );
        if !pairs.contains(&pair) {
            pairs.push(pair);
        }
    }
    for (from, to) in &pairs {
        let base = format!("from={from}&to={to}&date={first}&days=1");
        // The plain search's own classes give the class counts.
        let plain = search(&t, &base).await;
        assert!(
            !trips(&plain).is_empty(),
            "{base}: the pair is a real train's"
        );
        for (class, count) in facet(&plain, "class") {
            let offering = trips(&plain)
                .iter()
                .filter(|trip| {
                    trip["classes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|c| c["class"] == class.as_str())
                })
                .count() as u64;
            assert_eq!(offering, count, "{base}: class {class}");
        }
        assert_facets_match(&t, &base, "").await;
        assert_facets_match(&t, &base, "&min_free=1&depart_after=05:00").await;
    }
}

async fn filters_narrow_and_sorts_hold(t: TestApp) {
    let date = seed_network(&t, 1).await;
    let base = format!("from=DHK&to=CTG&date={date}");
    let all = search(&t, &base).await;
    assert!(trips(&all).len() >= 5, "{all}");
    assert_eq!(all["first_date"], date.to_string());

    let morning = search(
        &t,
        &format!("{base}&depart_after=06:00&depart_before=12:00"),
    )
    .await;
    assert!(!trips(&morning).is_empty() && trips(&morning).len() < trips(&all).len());
    for trip in trips(&morning) {
        let clock = &trip["departs"].as_str().unwrap()[11..16];
        assert!(("06:00".."12:00").contains(&clock), "{trip}");
    }
    let ac = search(&t, &format!("{base}&class=AC_B&class=AC_S")).await;
    assert!(!trips(&ac).is_empty());
    for trip in trips(&ac) {
        for c in trip["classes"].as_array().unwrap() {
            assert!(c["class"] == "AC_B" || c["class"] == "AC_S", "{trip}");
        }
    }
    let cheap = search(&t, &format!("{base}&fare_max=500&min_free=1")).await;
    assert!(!trips(&cheap).is_empty());
    for c in trips(&cheap)
        .iter()
        .flat_map(|t| t["classes"].as_array().unwrap())
    {
        assert!(c["total"].as_i64().unwrap() <= 500 && c["seats_free"].as_i64().unwrap() >= 1);
    }
    let one = search(&t, &format!("{base}&train=702")).await;
    assert!(trips(&one).iter().all(|t| t["train"]["number"] == 702));

    let keys = |body: &Value, key: &dyn Fn(&Value) -> i64| -> Vec<i64> {
        trips(body).iter().map(key).collect()
    };
    let cheapest = |t: &Value| {
        t["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["total"].as_i64().unwrap())
            .min()
            .unwrap_or(i64::MAX)
    };
    let free = |t: &Value| {
        t["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["seats_free"].as_i64().unwrap())
            .sum()
    };
    let duration = |t: &Value| t["duration_minutes"].as_i64().unwrap();
    let sorted = |v: &[i64], rising: bool| {
        v.windows(2)
            .all(|w| if rising { w[0] <= w[1] } else { w[0] >= w[1] })
    };
    let fare = keys(&search(&t, &format!("{base}&sort=fare")).await, &cheapest);
    assert!(sorted(&fare, true), "{fare:?}");
    let by_duration = keys(
        &search(&t, &format!("{base}&sort=duration")).await,
        &duration,
    );
    assert!(sorted(&by_duration, true), "{by_duration:?}");
    let long_first = keys(
        &search(&t, &format!("{base}&sort=duration&order=desc")).await,
        &duration,
    );
    assert!(sorted(&long_first, false) && long_first.len() == by_duration.len());
    let seats = keys(&search(&t, &format!("{base}&sort=seats_free")).await, &free);
    assert!(sorted(&seats, false), "{seats:?}");
    let late_first: Vec<String> = trips(&search(&t, &format!("{base}&order=desc")).await)
        .iter()
        .map(|t| t["departs"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        late_first.windows(2).all(|w| w[0] >= w[1]),
        "{late_first:?}"
    );
}

async fn bad_parameters_are_422s_naming_the_field(t: TestApp) {
    let date = seed_network(&t, 1).await;
    let before = t.app.raw_store().counts().await.unwrap();
    let base = format!("from=DHK&to=CTG&date={date}");
    for (extra, field) in [
        ("days=8", "days"),
        ("days=-1", "days"),
        ("class=BOGUS", "class"),
        ("train=0", "train"),
        ("train=abc", "train"),
        ("depart_after=25:00", "depart_after"),
        ("depart_after=12:00&depart_before=06:00", "depart_before"),
        ("arrive_before=9", "arrive_before"),
        ("fare_min=-5", "fare_min"),
        ("fare_min=900&fare_max=100", "fare_max"),
        ("fare_max=99999999999999999999999", "fare_max"),
        ("min_free=0", "min_free"),
        ("sort=cheapest", "sort"),
        ("order=sideways", "order"),
        ("days=1&days=1", "days"),
    ] {
        let r = t.get(&format!("/v1/trips?{base}&{extra}")).await;
        r.assert_problem(422, "invalid-field");
        assert_eq!(r.body["field"], field, "{extra}: {}", r.body);
    }
    t.get("/v1/trips?from=DHK&to=CTG&days=1")
        .await
        .assert_problem(400, "invalid-query");
    assert_eq!(t.app.raw_store().counts().await.unwrap(), before);
}

/// Booking seats changes `min_free` answers at once; scheduling a trip (a
/// catalog change) shows it in the next search and its facets.
async fn answers_follow_seat_and_catalog_changes(t: TestApp) {
    let trip = tiny_trip(&t.app, 4).await;
    let tomorrow = today(&t).add_days(1);
    let base = format!("from=DHK&to=CTG&date={tomorrow}&class=S_CHAIR");
    let found = |body: &Value| trips(body).iter().any(|t| t["trip_id"] == json!(trip));
    assert!(found(&search(&t, &format!("{base}&min_free=4")).await));

    let booked = booking_flow::book(&t, trip, 1, 2, "4242424242424242").await;
    assert_eq!(
        booked.reply.status,
        StatusCode::CREATED,
        "{}",
        booked.reply.body
    );
    let after = search(&t, &format!("{base}&min_free=3")).await;
    assert!(!found(&after), "{after}");
    // The class facet counts each class as if it were the one chosen.
    assert_eq!(
        facet(&after, "class"),
        vec![("S_CHAIR".to_owned(), 0), ("SNIGDHA".to_owned(), 1)]
    );
    let two = search(&t, &format!("{base}&min_free=2")).await;
    assert!(found(&two), "{two}");
    // A hold also takes its seats; releasing it gives them back.
    let (_, token, hold) = booking_flow::hold(&t, trip, 2, 1).await;
    assert!(!found(&search(&t, &format!("{base}&min_free=2")).await));
    let r = t
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/holds/{hold}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(found(&search(&t, &format!("{base}&min_free=2")).await));

    // Catalog change: the day after has no trip until an admin schedules one.
    let later = tomorrow.add_days(1);
    let q = format!("from=DHK&to=CTG&date={later}");
    assert!(trips(&search(&t, &q).await).is_empty());
    let admin = t.user_token("01711000099", Role::Admin).await;
    let r = t
        .post_as(
            "/v1/admin/trips",
            &admin,
            json!({ "train": 9001, "date": later.to_string() }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let now = search(&t, &q).await;
    assert_eq!(trips(&now).len(), 1, "{now}");
    assert_eq!(facet(&now, "train"), vec![("9001".to_owned(), 1)]);
}

on_both_backends!(
    facet_counts_agree_with_plain_search_on_random_pairs,
    filters_narrow_and_sorts_hold,
    bad_parameters_are_422s_naming_the_field,
    answers_follow_seat_and_catalog_changes,
);
