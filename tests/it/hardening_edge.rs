//! The server's edge under hostile or careless clients (issue 8, items 1, 2, 5):
//! every admin number bounded, one text rule for every text field of every
//! endpoint, absurd dates refused, slow and greedy clients bounded, and the
//! detailed seat map kept for staff. Each test drives a class (a table of
//! endpoints × fields, every bound ± 1), on both backends.

use crate::common::server::TEST_DOB;
use chrono::{Datelike, Duration as Days};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use ticketctl::domain::text::max_chars;
use ticketctl::domain::{Role, ServiceDate, TripId};
use ticketctl::server::Limits;
use ticketctl::server::limits::{ConnLimits, StreamLimits};

use crate::common::server::{Reply, TestApp, test_config, tiny_trip};

async fn admin(t: &TestApp) -> String {
    t.user_token("01799000000", Role::Admin).await
}

// ---------------------------------------------------------------- item 1

/// A sale's settings with one field replaced.
fn sale(n: usize, field: &str, value: Value) -> Value {
    let mut body = json!({
        "id": format!("sale-{n}"),
        "opens_at": crate::common::server::suite_now(),
        "trip_ids": [10_000 + n],
        "rate_per_sec": 10.0,
        "max_active": 10,
        "idle_secs": 60,
    });
    body[field] = value;
    body
}

async fn every_admin_queue_number_is_bounded_and_sales_go_on(t: TestApp) {
    let admin = admin(&t).await;
    let now = crate::common::server::suite_now();
    let minute = Days::minutes(1);
    let cases: Vec<(&str, Value, u16)> = vec![
        ("rate_per_sec", json!(0.01), 201),
        ("rate_per_sec", json!(0.0099), 422),
        ("rate_per_sec", json!(100_000.0), 201),
        ("rate_per_sec", json!(100_000.5), 422),
        ("rate_per_sec", json!(-1.0), 422),
        ("max_active", json!(1), 201),
        ("max_active", json!(0), 422),
        ("max_active", json!(1_000_000), 201),
        ("max_active", json!(1_000_001), 422),
        ("idle_secs", json!(1), 201),
        ("idle_secs", json!(0), 422),
        ("idle_secs", json!(86_400), 201),
        ("idle_secs", json!(86_401), 422),
        ("idle_secs", json!(10_000_000_000_000_i64), 422),
        ("opens_at", json!(now - Days::days(1) + minute), 201),
        ("opens_at", json!(now - Days::days(1) - minute), 422),
        ("opens_at", json!(now + Days::days(366) - minute), 201),
        ("opens_at", json!(now + Days::days(366) + minute), 422),
        ("trip_ids", json!([]), 422),
        ("trip_ids", json!([0]), 422),
        ("trip_ids", json!((1..=1001).collect::<Vec<i64>>()), 422),
        ("id", json!(" "), 422),
        ("id", json!("s".repeat(65)), 422),
        ("id", json!("s".repeat(64)), 201),
    ];
    for (n, (field, value, expected)) in cases.into_iter().enumerate() {
        let body = sale(n, field, value.clone());
        let r = t.post_as("/v1/admin/queue", &admin, body).await;
        assert_eq!(r.status.as_u16(), expected, "{field} = {value}: {}", r.body);
        if expected == 422 {
            r.assert_problem(422, "invalid-field");
            assert_eq!(r.body["field"], field, "{}", r.body);
        }
    }
    // Live control has the same bounds.
    for (field, value) in [
        ("rate_per_sec", json!(0.0)),
        ("rate_per_sec", json!(1e9)),
        ("max_active", json!(0)),
        ("max_active", json!(2_000_000)),
    ] {
        t.post_as("/v1/admin/queue/sale-0", &admin, json!({ field: value }))
            .await
            .assert_problem(422, "invalid-field");
    }
    let ok = t
        .post_as(
            "/v1/admin/queue/sale-0",
            &admin,
            json!({ "rate_per_sec": 5.0, "max_active": 3 }),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.body);

    // The longest idle time allowed, then real admissions and holds: the room
    // keeps selling.
    let trip = tiny_trip(&t.app, 40).await;
    let body = json!({ "id": "real", "opens_at": crate::common::server::suite_now() - Days::seconds(1), "trip_ids": [trip],
        "rate_per_sec": 100.0, "max_active": 10, "idle_secs": 86_400 });
    let r = t.post_as("/v1/admin/queue", &admin, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    for n in 0..3 {
        let passenger = t
            .user_token(&format!("0171100000{n}"), Role::Passenger)
            .await;
        let joined = t
            .post_as("/v1/queue/real/join", &passenger, json!({}))
            .await;
        assert_eq!(joined.body["state"], "admitted", "{}", joined.body);
        let held = t
            .client
            .post(t.url("/v1/holds"))
            .bearer_auth(&passenger)
            .header("admission-token", joined.body["token"].as_str().unwrap())
            .json(&json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 }))
            .send()
            .await
            .unwrap();
        assert_eq!(held.status(), StatusCode::CREATED);
    }
}

// ---------------------------------------------------------------- item 5

/// Values every text field must refuse: NUL, other C0 controls, DEL, C1
/// controls, and each kind of bidi control.
const BAD_TEXT: [&str; 12] = [
    "Rahim\u{0}Uddin",
    "\u{1}Rahim",
    "Rahim\tUddin",
    "Rahim\nUddin",
    "Rahim\r",
    "Rahim\u{7F}",
    "Rahim\u{85}",
    "Rahim\u{9F}",
    "\u{202E}midhaR",
    "\u{2066}Rahim\u{2069}",
    "Rahim\u{200F}",
    "\u{061C}Rahim",
];

enum Who {
    Nobody,
    Passenger,
    Clerk,
    Admin,
}

/// One text field of one endpoint: where it is in a body (a JSON pointer), or a
/// query parameter, or a path parameter.
enum Place {
    Body(&'static str),
    Query(&'static str),
    Path,
}

struct Field {
    method: Method,
    /// For `Place::Path`, `{}` marks the parameter.
    path: &'static str,
    who: Who,
    base: Value,
    place: Place,
    /// The field as the problem names it, and whose length cap applies.
    name: &'static str,
}

fn field(
    method: Method,
    path: &'static str,
    who: Who,
    base: Value,
    place: Place,
    name: &'static str,
) -> Field {
    Field {
        method,
        path,
        who,
        base,
        place,
        name,
    }
}

/// Every text field of every endpoint that takes text.
fn text_fields() -> Vec<Field> {
    use Method as M;
    use Place::{Body, Query};
    let register = json!({ "name": "Rahim", "phone": "01712345678", "email": "r@x.bd", "password": "long enough password", "nid": "5511712345678", "date_of_birth": TEST_DOB });
    let login =
        json!({ "login": "01712345678", "password": "long enough password", "totp": "123456" });
    let hold =
        json!({ "trip_id": 1, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-1"] });
    let order = json!({ "hold_id": 1, "passengers": [{ "name": "Rahim", "nid": "1234567890" }], "payment_token": "tok_x" });
    let counter_order = json!({ "hold_id": 1, "passengers": [{ "name": "Rahim", "nid": "1234567890" }], "phone": "01712345678", "nid": "5511712345678" });
    let station = json!({ "code": "XYZ", "name": "Xyz", "name_bn": "এক্স", "aliases": ["Xy"] });
    let card = json!({ "gateway_token": "tok_0123456789abcdef01234567" });
    let f = |m: M, p, w, b: &Value, place, n| field(m, p, w, b.clone(), place, n);
    let mut all = vec![];
    for (ptr, name) in [
        ("/name", "name"),
        ("/phone", "phone"),
        ("/email", "email"),
        ("/password", "password"),
    ] {
        all.push(f(
            M::POST,
            "/v1/auth/register",
            Who::Nobody,
            &register,
            Body(ptr),
            name,
        ));
    }
    for (ptr, name) in [
        ("/login", "login"),
        ("/password", "password"),
        ("/totp", "totp"),
    ] {
        all.push(f(
            M::POST,
            "/v1/auth/login",
            Who::Nobody,
            &login,
            Body(ptr),
            name,
        ));
    }
    all.push(f(
        M::POST,
        "/v1/auth/refresh",
        Who::Nobody,
        &json!({ "refresh_token": "x" }),
        Body("/refresh_token"),
        "refresh_token",
    ));
    all.push(f(
        M::POST,
        "/v1/auth/mfa/verify",
        Who::Passenger,
        &json!({ "code": "123456" }),
        Body("/code"),
        "code",
    ));
    all.push(f(
        M::POST,
        "/v1/tickets/verify",
        Who::Nobody,
        &json!({ "payload": "x" }),
        Body("/payload"),
        "payload",
    ));
    for (path, who) in [
        ("/v1/holds", Who::Passenger),
        ("/v1/counter/holds", Who::Clerk),
    ] {
        for (ptr, name) in [
            ("/from", "from"),
            ("/to", "to"),
            ("/class", "class"),
            ("/seats/0", "seats"),
        ] {
            let who = match who {
                Who::Clerk => Who::Clerk,
                _ => Who::Passenger,
            };
            all.push(f(M::POST, path, who, &hold, Body(ptr), name));
        }
    }
    all.push(f(
        M::POST,
        "/v1/payments/tokens",
        Who::Passenger,
        &card,
        Body("/gateway_token"),
        "gateway_token",
    ));
    for (ptr, name) in [
        ("/passengers/0/name", "name"),
        ("/passengers/0/nid", "nid"),
        ("/payment_token", "payment_token"),
    ] {
        all.push(f(
            M::POST,
            "/v1/orders",
            Who::Passenger,
            &order,
            Body(ptr),
            name,
        ));
    }
    for (ptr, name) in [
        ("/passengers/0/name", "name"),
        ("/passengers/0/nid", "nid"),
        ("/phone", "phone"),
    ] {
        all.push(f(
            M::POST,
            "/v1/counter/orders",
            Who::Clerk,
            &counter_order,
            Body(ptr),
            name,
        ));
    }
    for (ptr, name) in [
        ("/code", "code"),
        ("/name", "name"),
        ("/name_bn", "name_bn"),
        ("/aliases/0", "aliases"),
    ] {
        all.push(f(
            M::POST,
            "/v1/admin/stations",
            Who::Admin,
            &station,
            Body(ptr),
            name,
        ));
    }
    all.push(f(
        M::POST,
        "/v1/admin/trips",
        Who::Admin,
        &json!({ "train": 9001, "date": "2026-01-01" }),
        Body("/date"),
        "date",
    ));
    all.push(f(
        M::PUT,
        "/v1/admin/users/1/role",
        Who::Admin,
        &json!({ "role": "clerk" }),
        Body("/role"),
        "role",
    ));
    all.push(f(
        M::POST,
        "/v1/admin/queue",
        Who::Admin,
        &sale(0, "id", json!("x")),
        Body("/id"),
        "id",
    ));
    let search = json!({ "from": "DHK", "to": "CTG", "date": "2026-01-01" });
    for name in ["from", "to", "date"] {
        all.push(f(
            M::GET,
            "/v1/trips",
            Who::Nobody,
            &search,
            Query(name),
            name,
        ));
    }
    let journey = json!({ "from": "DHK", "to": "CTG" });
    for name in ["from", "to"] {
        all.push(f(
            M::GET,
            "/v1/trips/1/seats",
            Who::Nobody,
            &journey,
            Query(name),
            name,
        ));
    }
    for name in ["pnr", "phone"] {
        all.push(f(
            M::GET,
            "/v1/counter/lookup",
            Who::Clerk,
            &json!({ name: "x" }),
            Query(name),
            name,
        ));
    }
    all.push(f(
        M::GET,
        "/v1/counter/shift",
        Who::Clerk,
        &json!({ "since": "2026-01-01T00:00:00Z" }),
        Query("since"),
        "since",
    ));
    for path in ["/v1/queue/{}/join", "/v1/queue/{}/status"] {
        let method = if path.ends_with("join") {
            M::POST
        } else {
            M::GET
        };
        all.push(f(
            method,
            path,
            Who::Passenger,
            &json!({}),
            Place::Path,
            "sale",
        ));
    }
    all
}

async fn send_with(t: &TestApp, f: &Field, token: Option<&str>, bad: &str) -> Reply {
    let (path, body, query) = match f.place {
        Place::Body(ptr) => {
            let mut body = f.base.clone();
            *body.pointer_mut(ptr).expect("the pointer names a field") = json!(bad);
            (f.path.to_owned(), Some(body), vec![])
        }
        Place::Query(name) => {
            let mut pairs: Vec<(String, String)> = f
                .base
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            for p in pairs.iter_mut().filter(|p| p.0 == name) {
                p.1 = bad.to_owned();
            }
            (f.path.to_owned(), None, pairs)
        }
        Place::Path => {
            let encoded: String = url_escape(bad);
            (f.path.replace("{}", &encoded), Some(json!({})), vec![])
        }
    };
    let mut url = reqwest::Url::parse(&t.url(&path)).unwrap();
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(&query);
    }
    let mut req = t.client.request(f.method.clone(), url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body
        && f.method != Method::GET
    {
        req = req.json(&body);
    }
    Reply::from_response(req.send().await.expect("answered")).await
}

/// Percent-encodes every byte, so a path carries any text.
fn url_escape(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

async fn text_rule_holds_for_every_text_field_of_every_endpoint(t: TestApp) {
    let passenger = t.user_token("01711000001", Role::Passenger).await;
    let clerk = t.user_token("01711000002", Role::Clerk).await;
    let admin = admin(&t).await;
    let users_before = t.app.users().await.unwrap().len();
    let stations_before = t.app.stations().await.unwrap().len();
    let fields = text_fields();
    for f in &fields {
        let token = match f.who {
            Who::Nobody => None,
            Who::Passenger => Some(passenger.as_str()),
            Who::Clerk => Some(clerk.as_str()),
            Who::Admin => Some(admin.as_str()),
        };
        let too_long = "x".repeat(max_chars(f.name) + 1);
        for bad in BAD_TEXT.iter().copied().chain([too_long.as_str()]) {
            let r = send_with(&t, f, token, bad).await;
            let what = format!("{} {} {} = {bad:?}", f.method, f.path, f.name);
            assert_eq!(r.status.as_u16(), 422, "{what}: {}", r.body);
            r.assert_problem(422, "invalid-field");
            let named = r.body["field"].as_str().unwrap_or_default();
            assert!(
                named.ends_with(f.name) || named.contains(&format!("{}[", f.name)),
                "{what}: the problem names {named}"
            );
        }
    }
    assert_eq!(t.app.users().await.unwrap().len(), users_before);
    assert_eq!(t.app.stations().await.unwrap().len(), stations_before);

    // Text of any script passes the rule, and surrounding blanks are trimmed.
    let r = t
        .post(
            "/v1/auth/register",
            json!({ "name": "  রহিম উদ্দিন ", "phone": "01712345678", "email": "rahim@x.bd", "password": " long enough password ", "nid": "5511712345678", "date_of_birth": TEST_DOB }),
        )
        .await;
    // 201 with the account, or 202 where registration does not reveal
    // whether the account is new: either way the stored name is trimmed.
    assert!(r.status.is_success(), "{}", r.body);
    let users = t.app.users().await.unwrap();
    let rahim = users.iter().find(|u| u.email == "rahim@x.bd");
    assert_eq!(rahim.map(|u| u.name.as_str()), Some("রহিম উদ্দিন"));
    let login = t
        .post(
            "/v1/auth/login",
            json!({ "login": "01712345678", "password": " long enough password " }),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "a password is taken as typed");
}

async fn absurd_dates_and_card_expiries_are_refused(t: TestApp) {
    let admin = admin(&t).await;
    let trip = tiny_trip(&t.app, 8).await;
    assert!(trip.get() > 0);
    let today = ServiceDate::today_at(crate::common::server::suite_now());
    for date in [
        "+262142-01-01".to_owned(),
        "262142-12-31".to_owned(),
        "1999-12-31".to_owned(),
        today.add_days(-2).to_string(),
        today.add_days(367).to_string(),
    ] {
        t.post_as(
            "/v1/admin/trips",
            &admin,
            json!({ "train": 9001, "date": date }),
        )
        .await
        .assert_problem(422, "invalid-field");
    }
    for date in [today.add_days(-1), today.add_days(366)] {
        let r = t
            .post_as(
                "/v1/admin/trips",
                &admin,
                json!({ "train": 9001, "date": date.to_string() }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{date}: {}", r.body);
    }
    for date in ["+262142-12-31", "262142-12-31", "0000-01-01"] {
        t.get(&format!("/v1/trips?from=DHK&to=CTG&date={date}"))
            .await
            .assert_problem(422, "invalid-field");
    }
    let passenger = t.user_token("01711000001", Role::Passenger).await;
    let year = crate::common::server::suite_now().year() as i64;
    for (exp_year, expected) in [
        (json!(year + 20), 201),
        (json!(year + 21), 422),
        (json!(9999), 422),
        (json!(u32::MAX), 422),
        (json!(u64::MAX), 422),
        (json!(-1), 422),
        (json!(1e300), 422),
    ] {
        // Expiry is the gateway's to check: cards go there, never here.
        let gateway = crate::common::gateway::info(&t.client, &t.url("")).await;
        let r = t
            .client
            .post(gateway["tokens_url"].as_str().unwrap())
            .bearer_auth(gateway["publishable_key"].as_str().unwrap())
            .json(&json!({ "number": "4242424242424242", "exp_month": 12, "exp_year": exp_year, "cvc": "123" }))
            .send()
            .await
            .unwrap();
        let gateway_expected = if expected == 201 { 201 } else { 400 };
        assert_eq!(r.status().as_u16(), gateway_expected, "{exp_year}");
        if expected == 201 {
            let tok: serde_json::Value = r.json().await.unwrap();
            let registered = t
                .post_as(
                    "/v1/payments/tokens",
                    &passenger,
                    json!({ "gateway_token": tok["token"] }),
                )
                .await;
            assert_eq!(registered.status.as_u16(), 201, "{}", registered.body);
            assert_eq!(registered.body["exp_year"], exp_year);
        }
    }
}

// ---------------------------------------------------------------- item 9 (seat map)

async fn the_detailed_seat_map_is_for_staff(t: TestApp) {
    let trip = tiny_trip(&t.app, 8).await;
    let passenger = t.user_token("01711000001", Role::Passenger).await;
    let clerk = t.user_token("01711000002", Role::Clerk).await;
    let admin = admin(&t).await;
    let held = t
        .post_as(
            "/v1/holds",
            &passenger,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": ["KA-1"] }),
        )
        .await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
    let detailed = format!("/v1/trips/{trip}/seats?from=DHK&to=CTG&detail=true");
    t.get(&detailed).await.assert_problem(401, "unauthorized");
    t.get_as(&detailed, &passenger)
        .await
        .assert_problem(403, "forbidden");
    for staff in [&clerk, &admin] {
        let r = t.get_as(&detailed, staff).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["coaches"][0]["seats"][0]["state"], "held");
    }
    // The plain map stays public and says only "taken".
    let plain = t
        .get(&format!("/v1/trips/{trip}/seats?from=DHK&to=CTG"))
        .await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_ne!(plain.body["coaches"][0]["seats"][0]["state"], "held");
}

/// The Idempotency-Key is stored with the order: bounded like any text.
async fn an_oversized_idempotency_key_is_refused(t: TestApp) {
    let passenger = t.user_token("01711000001", Role::Passenger).await;
    let clerk = t.user_token("01711000002", Role::Clerk).await;
    let order =
        json!({ "hold_id": 999, "passengers": [{ "name": "Rahim" }], "payment_token": "tok_x" });
    let counter = json!({ "hold_id": 999, "passengers": [{ "name": "Rahim" }], "phone": "01712345678", "nid": "5511712345678" });
    for (path, token, body) in [
        ("/v1/orders", &passenger, &order),
        ("/v1/counter/orders", &clerk, &counter),
    ] {
        for (len, refused) in [(256, true), (255, false)] {
            let r = t
                .client
                .post(t.url(path))
                .bearer_auth(token)
                .header("idempotency-key", "k".repeat(len))
                .json(body)
                .send()
                .await
                .unwrap();
            let r = Reply::from_response(r).await;
            if refused {
                r.assert_problem(422, "invalid-field");
                assert_eq!(r.body["field"], "Idempotency-Key");
            } else {
                // Past the key, the order fails for what it is (no such
                // hold or token), not for its key.
                assert!(r.status.is_client_error(), "{path}: {}", r.body);
                assert_ne!(r.body["field"], "Idempotency-Key", "{path}: {}", r.body);
            }
        }
    }
}

on_both_backends!(
    an_oversized_idempotency_key_is_refused,
    every_admin_queue_number_is_bounded_and_sales_go_on,
    text_rule_holds_for_every_text_field_of_every_endpoint,
    absurd_dates_and_card_expiries_are_refused,
    the_detailed_seat_map_is_for_staff,
);

// ---------------------------------------------------------------- item 2

fn conn_limits(header_secs: u64, idle_secs: u64, per_ip: usize) -> Limits {
    Limits {
        connections: ConnLimits {
            header_read_timeout: Duration::from_secs(header_secs),
            idle_timeout: Duration::from_secs(idle_secs),
            max_per_ip: per_ip,
        },
        ..Limits::unlimited()
    }
}

fn stream_limits(max: usize, per_ip: usize) -> Limits {
    Limits {
        streams: StreamLimits {
            max_streams: max,
            per_ip,
            public_percent: 75,
        },
        ..Limits::unlimited()
    }
}

/// A TCP connection to the server from a chosen loopback address.
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Waits (at most `within`) for the server to close the connection.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a response (e.g. 408) before the close
            Err(_) => return false,
        }
    }
}

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn a_client_that_never_finishes_its_headers_is_disconnected(t: TestApp) {
    // Header timeout 1 s, idle timeout far longer: the header timer closes it.
    let mut slow = connect_from("127.0.0.1", t.addr).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut slow, Duration::from_secs(5)).await);
    assert!(started.elapsed() >= Duration::from_millis(900));
    // A silent connection goes the same way.
    let mut silent = connect_from("127.0.0.1", t.addr).await;
    assert!(closed_within(&mut silent, Duration::from_secs(5)).await);
    assert_eq!(t.get("/healthz").await.status, StatusCode::OK);
}

async fn an_idle_keep_alive_connection_is_closed(t: TestApp) {
    // Idle timeout 1 s, header timeout far longer: the idle timer closes it.
    let mut conn = connect_from("127.0.0.1", t.addr).await;
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = conn.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    assert!(closed_within(&mut conn, Duration::from_secs(5)).await);
    assert!(started.elapsed() >= Duration::from_millis(900));
}

async fn one_address_holding_its_cap_of_connections_leaves_the_server_reachable(t: TestApp) {
    // Cap 20 per address; 30 arrive at once from one address.
    let opened = join_all((0..30).map(|_| connect_from("127.0.0.1", t.addr))).await;
    let checks = join_all(opened.into_iter().map(|mut c| async move {
        let closed = closed_within(&mut c, Duration::from_secs(2)).await;
        (closed, c)
    }))
    .await;
    let refused = checks.iter().filter(|(closed, _)| *closed).count();
    assert_eq!(
        refused, 10,
        "exactly the connections past the cap are closed"
    );
    // Others are served meanwhile.
    let other = client_from("127.0.0.2");
    let r = other.get(t.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = other.get(t.url("/v1/stations")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Closing its connections gives the address its slots back.
    drop(checks);
    let again = client_from("127.0.0.1");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match again.get(t.url("/healthz")).send().await {
            Ok(r) if r.status() == StatusCode::OK => break,
            _ if Instant::now() < deadline => tokio::task::yield_now().await,
            other => panic!("the address never got its slots back: {other:?}"),
        }
    }
}

async fn open_stream(
    client: &reqwest::Client,
    t: &TestApp,
    trip: TripId,
    token: Option<&str>,
) -> reqwest::Response {
    let mut req = client.get(t.url(&format!("/v1/trips/{trip}/live")));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("answered")
}

async fn anonymous_streams_cannot_take_the_share_kept_for_staff(t: TestApp) {
    // 8 streams in all, 6 of them (75 %) for the public.
    let trip = tiny_trip(&t.app, 8).await;
    let clients: Vec<reqwest::Client> = (1..=20)
        .map(|i| client_from(&format!("127.0.0.{i}")))
        .collect();
    let anonymous = join_all(clients.iter().map(|c| open_stream(c, &t, trip, None))).await;
    let (open, refused): (Vec<_>, Vec<_>) = anonymous
        .into_iter()
        .partition(|r| r.status() == StatusCode::OK);
    assert_eq!(open.len(), 6, "the public share");
    for r in refused {
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().contains_key("retry-after"));
    }
    let passenger = t.user_token("01711000001", Role::Passenger).await;
    let as_passenger = open_stream(&t.client, &t, trip, Some(&passenger)).await;
    assert_eq!(
        as_passenger.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "passengers are public too"
    );
    let clerk = t.user_token("01711000002", Role::Clerk).await;
    let staff = join_all((0..2).map(|_| open_stream(&t.client, &t, trip, Some(&clerk)))).await;
    assert!(
        staff.iter().all(|r| r.status() == StatusCode::OK),
        "clerks get the kept share"
    );
    let over = open_stream(&t.client, &t, trip, Some(&clerk)).await;
    assert_eq!(
        over.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "the total holds"
    );
    drop((open, staff));
}

async fn one_address_holds_at_most_its_cap_of_streams(t: TestApp) {
    // 3 per address; 20 arrive at once from one address.
    let trip = tiny_trip(&t.app, 8).await;
    let one = client_from("127.0.0.1");
    let replies = join_all((0..20).map(|_| open_stream(&one, &t, trip, None))).await;
    let open = replies
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    let refused = replies
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((open, refused), (3, 17));
    let other = open_stream(&client_from("127.0.0.2"), &t, trip, None).await;
    assert_eq!(
        other.status(),
        StatusCode::OK,
        "another address is not affected"
    );
}

/// Runs each case on both backends with its own limits.
macro_rules! with_limits {
    ($($case:ident => $limits:expr),* $(,)?) => {
        mod sqlite_limited {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = $crate::common::db::sqlite();
                    let t = TestApp::start_with_limits(db, test_config(), $limits).await;
                    super::$case(t).await;
                }
            )*
            use super::*;
        }
        mod postgres_limited {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = $crate::common::db::postgres().await else { return };
                    let t = TestApp::start_with_limits(db, test_config(), $limits).await;
                    super::$case(t).await;
                }
            )*
            use super::*;
        }
    };
}

with_limits!(
    a_client_that_never_finishes_its_headers_is_disconnected => conn_limits(1, 60, 256),
    an_idle_keep_alive_connection_is_closed => conn_limits(60, 1, 256),
    one_address_holding_its_cap_of_connections_leaves_the_server_reachable => conn_limits(60, 60, 20),
    anonymous_streams_cannot_take_the_share_kept_for_staff => stream_limits(8, 100),
    one_address_holds_at_most_its_cap_of_streams => stream_limits(100, 3),
);
