//! Trip search, trip detail and seat maps over HTTP on both backends, with the
//! real Bangladesh Railway network seeded.

use crate::common::server::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use ticketctl::app::seed::{Quiet, SeedReport};
use ticketctl::domain::{Role, ServiceDate, TripId};

/// Tomorrow on the app's clock (set the whole suite's date with TICKETCTL_TEST_TODAY).
fn tomorrow(t: &TestApp) -> ServiceDate {
    ServiceDate::today_at(t.app.now()).add_days(1)
}

/// The first day in `days` after today (on the app's clock) that is (or is not) a Monday.
fn first_day(t: &TestApp, days: std::ops::Range<i64>, monday: bool) -> ServiceDate {
    let today = ServiceDate::today_at(t.app.now());
    days.map(|d| today.add_days(d))
        .find(|d| (d.weekday() == chrono::Weekday::Mon) == monday)
        .expect("a week has one Monday and six other days")
}

/// Seeds the network and the trips of `days`.
async fn seed_days(t: &TestApp, days: &[ServiceDate]) {
    let mut report = t.app.seed_network(&Quiet).await.expect("seed network");
    t.app
        .seed_trips(days, &mut report, &Quiet)
        .await
        .expect("seed trips");
    assert!(report.trips_created > 50 * days.len() as u64, "{report:?}");
}

/// Seeds the network and tomorrow's trips; returns tomorrow's date.
async fn seed_tomorrow(t: &TestApp) -> ServiceDate {
    let tomorrow = tomorrow(t);
    seed_days(t, &[tomorrow]).await;
    tomorrow
}

fn trip_of(result: &Value, number: u64) -> &Value {
    result["trips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["train"]["number"] == number)
        .unwrap_or_else(|| panic!("train {number} not in {result}"))
}

fn class<'a>(trip: &'a Value, code: &str) -> &'a Value {
    trip["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == code)
        .unwrap_or_else(|| panic!("class {code} not in {trip}"))
}

/// Searches on the first day from tomorrow that Suborno 702 runs (every day but
/// Monday), and on the next Monday, when it must be absent: the same checks
/// run whatever the date.
async fn search_dhaka_chattogram_shows_real_times_fares_and_seats(t: TestApp) {
    let date = first_day(&t, 1..3, false);
    let monday = first_day(&t, 1..8, true);
    seed_days(&t, &[date, monday]).await;
    let r = t
        .get(&format!("/v1/trips?from=Dhaka&to=Chattogram&date={date}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["from"]["code"], "DHK");
    assert_eq!(r.body["to"]["code"], "CTG");
    let trips = r.body["trips"].as_array().unwrap();
    assert!(trips.len() >= 5, "the corridor has many trains: {}", r.body);

    // Suborno 702 runs daily except Monday.
    let suborno = trip_of(&r.body, 702);
    assert_eq!(suborno["departs"], format!("{date}T16:30:00+06:00"));
    assert_eq!(suborno["arrives"], format!("{date}T21:25:00+06:00"));
    assert_eq!(suborno["duration_minutes"], 295);
    let s_chair = class(suborno, "S_CHAIR");
    assert_eq!(
        (s_chair["fare"].as_i64(), s_chair["vat"].as_i64()),
        (Some(450), Some(0))
    );
    let snigdha = class(suborno, "SNIGDHA");
    assert_eq!(
        (
            snigdha["fare"].as_i64(),
            snigdha["vat"].as_i64(),
            snigdha["total"].as_i64()
        ),
        (Some(743), Some(112), Some(855))
    );
    assert!(s_chair["seats_free"].as_i64().unwrap() > 0);
    assert_eq!(suborno["sale"]["state"], "open");
    // Results are in departure order and all board on the asked date.
    let departs: Vec<&str> = trips
        .iter()
        .map(|t| t["departs"].as_str().unwrap())
        .collect();
    assert!(departs.windows(2).all(|w| w[0] <= w[1]), "{departs:?}");
    assert!(departs.iter().all(|d| d.starts_with(&date.to_string())));

    // On its off-day it is not offered; the other trains still are.
    let off_day = t
        .get(&format!("/v1/trips?from=Dhaka&to=Chattogram&date={monday}"))
        .await;
    assert_eq!(off_day.status, StatusCode::OK, "{}", off_day.body);
    let on_monday = off_day.body["trips"].as_array().unwrap();
    assert!(on_monday.len() >= 5, "{}", off_day.body);
    assert!(
        on_monday.iter().all(|t| t["train"]["number"] != 702
            && t["departs"]
                .as_str()
                .unwrap()
                .starts_with(&monday.to_string())),
        "{}",
        off_day.body
    );

    // Codes, lower case, Bangla names and aliases all work.
    for (from, to) in [
        ("dhk", "ctg"),
        ("ঢাকা", "চট্টগ্রাম"),
        ("Kamalapur", "Chittagong"),
    ] {
        let again = t
            .get(&format!("/v1/trips?from={from}&to={to}&date={date}"))
            .await;
        assert_eq!(again.status, StatusCode::OK, "{from}->{to}: {}", again.body);
        assert_eq!(
            again.body["trips"].as_array().unwrap().len(),
            trips.len(),
            "{from}->{to}"
        );
    }
}

async fn intermediate_stations_and_directions(t: TestApp) {
    let date = seed_tomorrow(&t).await;
    for (from, to) in [
        ("Dhaka", "Cumilla"),
        ("Feni", "Chattogram"),
        ("Chattogram", "Dhaka"),
    ] {
        let r = t
            .get(&format!("/v1/trips?from={from}&to={to}&date={date}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let trips = r.body["trips"].as_array().unwrap();
        assert!(!trips.is_empty(), "{from} -> {to} has trains");
        for trip in trips {
            assert!(trip["arrives"].as_str() > trip["departs"].as_str());
            for c in trip["classes"].as_array().unwrap() {
                assert!(c["fare"].as_i64().unwrap() > 0);
                assert_eq!(
                    c["total"].as_i64(),
                    Some(c["fare"].as_i64().unwrap() + c["vat"].as_i64().unwrap())
                );
            }
        }
    }
}

async fn trip_detail_and_seat_map(t: TestApp) {
    let date = seed_tomorrow(&t).await;
    let r = t
        .get(&format!("/v1/trips?from=DHK&to=CTG&date={date}"))
        .await;
    let first = &r.body["trips"][0];
    let id = TripId(first["trip_id"].as_i64().unwrap());

    let detail = t.get(&format!("/v1/trips/{id}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    let stops = detail.body["stops"].as_array().unwrap();
    assert!(stops.iter().any(|s| s["station"]["code"] == "DHK"));
    assert!(stops.last().unwrap()["departs"].is_null());

    let map = t
        .get(&format!("/v1/trips/{id}/seats?from=Dhaka&to=Chattogram"))
        .await;
    assert_eq!(map.status, StatusCode::OK, "{}", map.body);
    let coaches = map.body["coaches"].as_array().unwrap();
    let seats: usize = coaches
        .iter()
        .map(|c| c["seats"].as_array().unwrap().len())
        .sum();
    let free: i64 = first["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["seats_free"].as_i64().unwrap())
        .sum();
    assert_eq!(seats as i64, free, "a fresh trip is entirely free");
    assert!(
        coaches[0]["seats"][0]["seat"]
            .as_str()
            .unwrap()
            .starts_with(coaches[0]["code"].as_str().unwrap())
    );

    // Wrong direction and unknown trip.
    t.get(&format!("/v1/trips/{id}/seats?from=Chattogram&to=Dhaka"))
        .await
        .assert_problem(422, "invalid-field");
    t.get("/v1/trips/99999999")
        .await
        .assert_problem(404, "not-found");
    t.get("/v1/trips/abc")
        .await
        .assert_problem(400, "invalid-path");
}

async fn bad_search_input_gets_clear_problems(t: TestApp) {
    let date = seed_tomorrow(&t).await;
    let before = t.app.raw_store().counts().await.unwrap();
    let r = t
        .get(&format!("/v1/trips?from=Dhakka&to=Chattogram&date={date}"))
        .await;
    r.assert_problem(422, "unknown-station");
    assert_eq!(r.body["station"], "Dhakka");
    let r = t
        .get(&format!("/v1/trips?from=Chatto&to=Dhaka&date={date}"))
        .await;
    r.assert_problem(422, "unknown-station");
    assert!(
        r.body["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().contains("CTG"))
    );
    t.get("/v1/trips?from=Dhaka&to=Chattogram&date=2020-01-01")
        .await
        .assert_problem(422, "invalid-field");
    t.get("/v1/trips?from=Dhaka&to=Chattogram&date=tomorrow")
        .await
        .assert_problem(422, "invalid-field");
    t.get(&format!("/v1/trips?from=Dhaka&to=Dhaka&date={date}"))
        .await
        .assert_problem(422, "invalid-field");
    t.get("/v1/trips?from=Dhaka&to=Chattogram")
        .await
        .assert_problem(400, "invalid-query");
    assert_eq!(t.app.raw_store().counts().await.unwrap(), before);
}

async fn stations_trains_and_admin_catalog_edits(t: TestApp) {
    seed_tomorrow(&t).await;
    let stations = t.get("/v1/stations").await;
    assert!(stations.body["stations"].as_array().unwrap().len() > 200);
    let trains = t.get("/v1/trains").await;
    assert!(trains.body["trains"].as_array().unwrap().len() > 100);
    let suborno = t.get("/v1/trains/702").await;
    assert_eq!(suborno.body["departs"], "16:30");
    assert_eq!(suborno.body["off_days"], json!(["Mon"]));

    let admin = t.user_token("01733333333", Role::Admin).await;
    let clerk = t.user_token("01744444444", Role::Clerk).await;
    let station = json!({ "code": "PBG", "name": "Padma Bridge", "aliases": ["Padma Setu"] });
    t.post_as("/v1/admin/stations", &clerk, station.clone())
        .await
        .assert_problem(403, "forbidden");
    let r = t
        .post_as("/v1/admin/stations", &admin, station.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = t.post_as("/v1/admin/stations", &admin, station).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["result"], "unchanged");
    t.post_as(
        "/v1/admin/stations",
        &admin,
        json!({ "code": "D1", "name": "X" }),
    )
    .await
    .assert_problem(422, "invalid-field");
    t.post_as(
        "/v1/admin/stations",
        &admin,
        json!({ "code": "DHX", "name": "Dhaka" }),
    )
    .await
    .assert_problem(409, "conflict");
    let taken_code = json!({ "code": "DHK", "name": "Somewhere Else" });
    t.post_as("/v1/admin/stations", &admin, taken_code)
        .await
        .assert_problem(409, "conflict");

    // A later date works once, then conflicts; 702's off-day (Monday) is refused.
    let later = first_day(&t, 8..10, false);
    let r = t
        .post_as(
            "/v1/admin/trips",
            &admin,
            json!({ "train": 702, "date": later.to_string() }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    t.post_as(
        "/v1/admin/trips",
        &admin,
        json!({ "train": 702, "date": later.to_string() }),
    )
    .await
    .assert_problem(409, "conflict");
    let off_day = first_day(&t, 8..15, true);
    let r = t
        .post_as(
            "/v1/admin/trips",
            &admin,
            json!({ "train": 702, "date": off_day.to_string() }),
        )
        .await;
    r.assert_problem(409, "conflict");
    assert!(
        r.body["detail"].as_str().unwrap().contains("does not run"),
        "{}",
        r.body
    );
    t.post_as(
        "/v1/admin/trips",
        &admin,
        json!({ "train": 1, "date": later.to_string() }),
    )
    .await
    .assert_problem(404, "not-found");
}

async fn seeding_twice_changes_nothing(t: TestApp) {
    seed_tomorrow(&t).await;
    let before = t.app.raw_store().counts().await.unwrap();
    let mut again: SeedReport = t.app.seed_network(&Quiet).await.unwrap();
    t.app
        .seed_trips(&[tomorrow(&t)], &mut again, &Quiet)
        .await
        .unwrap();
    assert!(!again.changed_anything(), "{again:?}");
    assert_eq!(t.app.raw_store().counts().await.unwrap(), before);
}

on_both_backends!(
    search_dhaka_chattogram_shows_real_times_fares_and_seats,
    intermediate_stations_and_directions,
    trip_detail_and_seat_map,
    bad_search_input_gets_clear_problems,
    stations_trains_and_admin_catalog_edits,
    seeding_twice_changes_nothing,
);
