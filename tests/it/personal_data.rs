//! Personal data, on both backends: a person who booked online (two
//! passengers, a card), bought at a counter under their NID (another phone),
//! got SMS and turned two-factor on. Their export (HTTP and CLI) holds every
//! piece of it and nobody else's; erasure is refused while their trip is
//! upcoming and with a wrong password or code (changing nothing), then, once
//! the trip has left, leaves none of their names, phones, e-mail or NID in
//! any column of any table (nor, on SQLite, anywhere in the database file or
//! its write-ahead log), while the audit chain still verifies (HTTP and CLI),
//! the invariants hold, they cannot log in, and another passenger's data is
//! untouched. Retention anonymises only what is old enough.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ticketctl::adapters::sms_http::{HttpSmsSender, SmsGatewaySettings};
use ticketctl::app::identity::{NidInput, Registration};
use ticketctl::app::{AppConfig, Clock};
use ticketctl::domain::{HoldId, Role, TripId};
use ticketctl::outside::sms::{MockSms, Settings};
use ticketctl::outside::{Embedded, serve_embedded};

use crate::common::booking_flow::card;
use crate::common::db::{TestDb, dump_all};
use crate::common::server::{
    PASSWORD, Reply, TEST_DOB, TestApp, code_at, nid_for_phone, suite_second, test_config,
    tiny_trip,
};

const SMS_KEY: &str = "test-sms-key";

/// The person whose data is exported and erased, and what identifies them.
const P_NAME: &str = "Nasrin Sultana";
const P_PHONE: &str = "01712340001";
const P_EMAIL: &str = "nasrin.sultana@example.com";
/// Someone travelling on her online order, and on her counter purchase.
const COMPANION: &str = "Tanvir Sultana";
const COUNTER_PASSENGER: &str = "Ayesha Sultana";
/// The phone given at the counter for her purchase.
const COUNTER_PHONE: &str = "01812340001";

/// Another passenger, who must be left alone.
const O_NAME: &str = "Kamal Hossain";
const O_PHONE: &str = "01912340002";

/// A server on a manual clock whose SMS go to a mock gateway of the test's own.
async fn start(db: TestDb) -> (TestApp, Embedded) {
    let gateway = serve_embedded(
        MockSms::new(Settings {
            api_key: Some(SMS_KEY.into()),
            ..Settings::default()
        })
        .router(),
    )
    .await
    .unwrap();
    let sender = HttpSmsSender::new(&SmsGatewaySettings {
        url: gateway.url(),
        api_key: SMS_KEY.into(),
        sender_id: "BDRAILWAY".into(),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let config = AppConfig {
        clock: Clock::manual(suite_second()),
        sweep_every: Duration::from_secs(3600),
        ..test_config()
    };
    let t = TestApp::start_plugged(
        db,
        config,
        ticketctl::server::Limits::unlimited(),
        move |app| app.with_sms_sender(Arc::new(sender)),
    )
    .await;
    (t, gateway)
}

async fn register(t: &TestApp, name: &str, phone: &str, email: &str) -> i64 {
    t.app
        .register(Registration {
            name: name.into(),
            phone: phone.into(),
            email: email.into(),
            password: PASSWORD.into(),
            role: Role::Passenger,
            nid: Some(NidInput {
                nid: nid_for_phone(phone),
                date_of_birth: TEST_DOB.into(),
            }),
        })
        .await
        .unwrap()
        .id
        .get()
}

async fn login(t: &TestApp, phone: &str, totp: Option<String>) -> Reply {
    t.post(
        "/v1/auth/login",
        json!({ "login": phone, "password": PASSWORD, "totp": totp }),
    )
    .await
}

/// Books `names` online on `trip` (any seats), paid by card; returns the order.
async fn book_online(t: &TestApp, token: &str, trip: TripId, names: &[&str], key: &str) -> Value {
    let h = t
        .post_as(
            "/v1/holds",
            token,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": names.len() }),
        )
        .await;
    assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);
    let card = card(t, token, "4242424242424242").await;
    let passengers: Vec<Value> = names.iter().map(|n| json!({ "name": n })).collect();
    let req = t
        .client
        .post(t.url("/v1/orders"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({ "hold_id": h.body["hold_id"], "passengers": passengers, "payment_token": card }));
    let r = Reply::from_response(req.send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

/// A cash sale of `seats` to the buyer with `nid`, texting `phone`.
async fn counter_sale(
    t: &TestApp,
    clerk: &str,
    trip: TripId,
    seats: &[&str],
    names: &[&str],
    nid: &str,
    phone: &str,
) -> Value {
    let h = t
        .post_as(
            "/v1/counter/holds",
            clerk,
            json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": seats }),
        )
        .await;
    assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);
    let hold = HoldId(h.body["hold_id"].as_i64().unwrap());
    let passengers: Vec<Value> = names.iter().map(|n| json!({ "name": n })).collect();
    let req = t
        .client
        .post(t.url("/v1/counter/orders"))
        .bearer_auth(clerk)
        .header("idempotency-key", format!("sale-{hold}"))
        .json(&json!({ "hold_id": hold, "passengers": passengers, "nid": nid, "phone": phone }));
    let r = Reply::from_response(req.send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

fn ticketctl(db_url: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("TICKETCTL_LOG", "warn")
        .output()
        .unwrap();
    let text = if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    (out.status.success(), text)
}

/// What identifies the person, as searched for (lower case; phones by their
/// last ten digits, so every spelling of the number is caught).
fn person_needles() -> Vec<String> {
    [
        "nasrin",
        "tanvir",
        "ayesha",
        "sultana",
        &P_PHONE[1..],
        &COUNTER_PHONE[1..],
        P_EMAIL,
        &nid_for_phone(P_PHONE),
    ]
    .iter()
    .map(|s| s.to_lowercase())
    .collect()
}

fn found_in(haystack: &str, needles: &[String]) -> Vec<String> {
    let hay = haystack.to_lowercase();
    needles
        .iter()
        .filter(|n| hay.contains(n.as_str()))
        .cloned()
        .collect()
}

/// The database file and its write-ahead log, as bytes (SQLite only).
fn sqlite_files(db: &TestDb) -> Option<String> {
    let path = db.url().strip_prefix("sqlite://")?.to_owned();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

fn rows<'a>(export: &'a Value, table: &str) -> &'a Vec<Value> {
    export["tables"][table]
        .as_array()
        .unwrap_or_else(|| panic!("{table} in {export}"))
}

/// The export's tables, less the login counters a refused attempt moves.
fn comparable(export: &Value) -> Value {
    let mut tables = export["tables"].clone();
    for u in tables["users"].as_array_mut().unwrap() {
        u.as_object_mut().unwrap().remove("failed_logins");
    }
    tables
}

async fn the_export_has_everything_and_erasure_leaves_nothing(db: TestDb) {
    let (t, _sms) = start(db).await;
    let trip = tiny_trip(&t.app, 12).await;
    let clerk = t.user_token("01799000011", Role::Clerk).await;
    t.user_token("01799000012", Role::Admin).await;
    let p_id = register(&t, P_NAME, P_PHONE, P_EMAIL).await;
    register(&t, O_NAME, O_PHONE, "kamal.hossain@example.com").await;
    let p = login(&t, P_PHONE, None).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = login(&t, O_PHONE, None).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // At the counter first (fixed seats), then online.
    let counter = counter_sale(
        &t,
        &clerk,
        trip,
        &["KA-11", "KA-12"],
        &[P_NAME, COUNTER_PASSENGER],
        &nid_for_phone(P_PHONE),
        COUNTER_PHONE,
    )
    .await;
    let online = book_online(&t, &p, trip, &[P_NAME, COMPANION], "p-online").await;
    let others = book_online(&t, &o, trip, &[O_NAME], "o-online").await;
    t.app.settle().await.unwrap();

    // Two-factor on.
    let enrol = t.post_as("/v1/auth/mfa/enroll", &p, json!({})).await;
    assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.body);
    let secret = enrol.body["secret"].as_str().unwrap().to_owned();
    let now = t.app.now().timestamp();
    let on = t
        .post_as(
            "/v1/auth/mfa/verify",
            &p,
            json!({ "code": code_at(&secret, now) }),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);

    // The export.
    let r = t.get_as("/v1/me/export", &p).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let export = r.body;
    let user = &rows(&export, "users")[0];
    assert_eq!(user["name"], P_NAME);
    assert_eq!(user["email"], P_EMAIL);
    assert!(user["phone"].as_str().unwrap().ends_with(&P_PHONE[1..]));
    assert_eq!(user["nid"], nid_for_phone(P_PHONE));
    assert!(user.get("password_hash").is_none() && user.get("totp_secret").is_none());
    let order_ids: Vec<i64> = rows(&export, "orders")
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    let mut want = vec![
        counter["order_id"].as_i64().unwrap(),
        online["order_id"].as_i64().unwrap(),
    ];
    want.sort_unstable();
    assert_eq!(order_ids, want, "{export}");
    let names: Vec<&str> = rows(&export, "order_passengers")
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for n in [P_NAME, COMPANION, COUNTER_PASSENGER] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    assert_eq!(rows(&export, "tickets").len(), 4, "{export}");
    let card = &rows(&export, "payment_tokens")[0];
    assert_eq!(card["last4"], "4242");
    assert!(card["brand"].as_str().is_some_and(|b| !b.is_empty()));
    let sms_phones: Vec<&str> = rows(&export, "sms_messages")
        .iter()
        .map(|m| m["phone"].as_str().unwrap())
        .collect();
    assert!(
        sms_phones.iter().any(|p| p.ends_with(&P_PHONE[1..])),
        "{sms_phones:?}"
    );
    assert!(
        sms_phones.iter().any(|p| p.ends_with(&COUNTER_PHONE[1..])),
        "{sms_phones:?}"
    );
    assert!(
        rows(&export, "counter_sales")[0]["phone"]
            .as_str()
            .unwrap()
            .ends_with(&COUNTER_PHONE[1..])
    );
    assert!(!rows(&export, "sessions").is_empty());
    assert!(!rows(&export, "audit_log").is_empty());
    // Nobody else's data: not the other passenger's, not the clerk's.
    let text = export.to_string().to_lowercase();
    for other in [
        "kamal",
        &O_PHONE[1..],
        &nid_for_phone(O_PHONE),
        "1799000011",
    ] {
        assert!(!text.contains(other), "{other} in the export: {text}");
    }
    // The admin CLI prints the same document.
    let (ok, out) = ticketctl(t.db.url(), &["user", "export", &p_id.to_string()]);
    assert!(ok, "{out}");
    let cli: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cli["tables"], export["tables"]);
    let (ok, out) = ticketctl(t.db.url(), &["user", "export", "987654"]);
    assert!(!ok && out.contains("no user 987654"), "{out}");

    // Her pseudonyms link while her key exists (and show nothing of her).
    let pseudonym = t
        .app
        .pseudonym(ticketctl::domain::UserId(p_id), P_PHONE)
        .await
        .unwrap()
        .expect("a key for a live account");
    assert_eq!(
        t.app
            .pseudonym(ticketctl::domain::UserId(p_id), P_PHONE)
            .await
            .unwrap()
            .as_deref(),
        Some(pseudonym.as_str())
    );
    assert!(found_in(&pseudonym, &person_needles()).is_empty());

    let o_before = t.get_as("/v1/me/export", &o).await.body;
    let erase = |token: String, body: Value| {
        let t = &t;
        async move {
            t.send(Method::DELETE, "/v1/me", Some(&token), Some(body))
                .await
        }
    };

    // The trip has not left: refused, nothing changed.
    let code = |offset: i64| code_at(&secret, t.app.now().timestamp() + offset);
    erase(p.clone(), json!({ "password": PASSWORD, "totp": code(30) }))
        .await
        .assert_problem(409, "conflict");

    // Two days on the trip has left; she signs in again.
    t.manual_clock().advance(chrono::Duration::days(2));
    let r = login(&t, P_PHONE, Some(code(0))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let p = r.body["access_token"].as_str().unwrap().to_owned();
    let before = t.get_as("/v1/me/export", &p).await.body;
    erase(
        p.clone(),
        json!({ "password": "not the password", "totp": code(30) }),
    )
    .await
    .assert_problem(401, "unauthorized");
    erase(p.clone(), json!({ "password": PASSWORD }))
        .await
        .assert_problem(401, "mfa-required");
    erase(
        p.clone(),
        json!({ "password": PASSWORD, "totp": code(-3600) }),
    )
    .await
    .assert_problem(401, "unauthorized");
    erase(p.clone(), json!({ "password": PASSWORD, "totp": ["x"] }))
        .await
        .assert_problem(422, "invalid-body");
    let after = t.get_as("/v1/me/export", &p).await.body;
    assert_eq!(comparable(&after), comparable(&before));

    // Erased.
    let r = erase(p.clone(), json!({ "password": PASSWORD, "totp": code(30) })).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

    // Her token and her login no longer work.
    t.get_as("/v1/me", &p)
        .await
        .assert_problem(401, "unauthorized");
    login(&t, P_PHONE, Some(code(60)))
        .await
        .assert_problem(401, "unauthorized");
    login(&t, &format!("erased-{p_id}@erased.invalid"), None)
        .await
        .assert_problem(401, "unauthorized");

    // None of her data in any column of any table, nor in the SQLite files.
    let dump = dump_all(&t.db).await;
    let needles = person_needles();
    assert_eq!(found_in(&dump, &needles), Vec::<String>::new(), "{dump}");
    if let Some(files) = sqlite_files(&t.db) {
        assert_eq!(found_in(&files, &needles), Vec::<String>::new());
    }
    // The other passenger's data is all there, and theirs alone is unchanged.
    for kept in ["kamal hossain", &O_PHONE[1..], &nid_for_phone(O_PHONE)] {
        assert!(dump.to_lowercase().contains(kept), "{kept} kept");
    }
    let o = login(&t, O_PHONE, None).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // (Signing in again added a session; the first one is still live.)
    let mut o_after = t.get_as("/v1/me/export", &o).await.body;
    let mut o_before = o_before;
    let sessions = o_after["tables"]["sessions"].clone();
    assert!(sessions[0]["revoked_at"].is_null(), "{sessions}");
    for e in [&mut o_before, &mut o_after] {
        let tables = e["tables"].as_object_mut().unwrap();
        tables.remove("sessions");
        tables.remove("refresh_tokens");
    }
    assert_eq!(o_after["tables"], o_before["tables"]);
    assert_eq!(others["status"], "confirmed");

    // The chain verifies, over HTTP and with the CLI; the invariants hold.
    t.app.settle().await.unwrap();
    let admin = t.login("01799000012").await;
    let v = t.get_as("/v1/admin/audit/verify", &admin).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert!(v.body["first_broken"].is_null() && v.body["entries"].as_u64().unwrap() > 4);
    let (ok, out) = ticketctl(t.db.url(), &["audit", "verify"]);
    assert!(ok, "{out}");
    let report = t.app.check_invariants(None).await.unwrap();
    assert!(report.ok(), "{report:?}");
    // Her online order is still there, anonymous; the counter purchase was
    // tied to her only by her NID, which is gone, so it is nobody's now.
    let (ok, out) = ticketctl(t.db.url(), &["user", "export", &p_id.to_string()]);
    assert!(ok, "{out}");
    let left: Value = serde_json::from_str(&out).unwrap();
    let left_orders: Vec<&Value> = rows(&left, "orders").iter().map(|o| &o["id"]).collect();
    assert_eq!(left_orders, [&online["order_id"]]);
    assert_eq!(rows(&left, "tickets").len(), 2);
    assert_eq!(rows(&left, "users")[0]["name"], "Erased user");
    assert_eq!(found_in(&out, &needles), Vec::<String>::new());
    // Her pseudonym key is gone for good.
    assert_eq!(
        t.app
            .pseudonym(ticketctl::domain::UserId(p_id), P_PHONE)
            .await
            .unwrap(),
        None
    );
}

async fn the_cli_erases_and_refuses_unknown_users(db: TestDb) {
    let (t, _sms) = start(db).await;
    let id = register(&t, P_NAME, P_PHONE, P_EMAIL).await;
    let (ok, out) = ticketctl(t.db.url(), &["user", "erase", "987654"]);
    assert!(!ok && out.contains("no user 987654"), "{out}");
    let (ok, out) = ticketctl(t.db.url(), &["user", "erase", &id.to_string()]);
    assert!(ok, "{out}");
    assert_eq!(
        found_in(&dump_all(&t.db).await, &person_needles()),
        Vec::<String>::new()
    );
    login(&t, P_PHONE, None)
        .await
        .assert_problem(401, "unauthorized");
    let (ok, out) = ticketctl(t.db.url(), &["user", "purge", "--older-than-days", "0"]);
    assert!(!ok, "{out}");
}

async fn retention_anonymises_only_what_is_old_enough(db: TestDb) {
    let (t, _sms) = start(db).await;
    let clerk = t.user_token("01799000021", Role::Clerk).await;
    let old_trip = tiny_trip(&t.app, 12).await;
    // An old traveller: an account, an order and a counter sale, 40 days ago.
    register(
        &t,
        "Old Traveller",
        "01712340031",
        "old.traveller@example.com",
    )
    .await;
    let old = login(&t, "01712340031", None).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    counter_sale(
        &t,
        &clerk,
        old_trip,
        &["KA-11"],
        &["Old Counterbuyer"],
        &crate::common::server::fresh_nid(),
        "01812340031",
    )
    .await;
    book_online(&t, &old, old_trip, &["Old Traveller"], "old").await;
    t.app.settle().await.unwrap();

    t.manual_clock().advance(chrono::Duration::days(40));
    let clerk = t.login("01799000021").await;
    let new_trip = tiny_trip(&t.app, 12).await;
    register(
        &t,
        "New Traveller",
        "01712340032",
        "new.traveller@example.com",
    )
    .await;
    let new = login(&t, "01712340032", None).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    counter_sale(
        &t,
        &clerk,
        new_trip,
        &["KA-11"],
        &["New Counterbuyer"],
        &crate::common::server::fresh_nid(),
        "01812340032",
    )
    .await;
    book_online(&t, &new, new_trip, &["New Traveller"], "new").await;
    t.app.settle().await.unwrap();

    let (ok, out) = ticketctl(t.db.url(), &["user", "purge", "--older-than-days", "30"]);
    // The CLI runs on the system clock, which is 40 days behind this server's:
    // nothing is old enough for it. The app's own run (as the worker does) is.
    assert!(ok && out.contains("0 accounts erased"), "{out}");
    let report = t.app.purge_personal_data(30).await.unwrap();
    assert_eq!(report.accounts.len(), 1, "{report:?}");
    let dump = dump_all(&t.db).await.to_lowercase();
    for gone in [
        "old traveller",
        "old counterbuyer",
        "1712340031",
        "1812340031",
    ] {
        assert!(!dump.contains(gone), "{gone} still stored");
    }
    for kept in [
        "new traveller",
        "new counterbuyer",
        "1712340032",
        "1812340032",
    ] {
        assert!(dump.contains(kept), "{kept} was anonymised too early");
    }
    // Staff are never retired by retention.
    assert_eq!(t.get_as("/v1/me", &clerk).await.status, StatusCode::OK);
    assert!(t.app.verify_audit().await.unwrap().intact());
    assert!(t.app.check_invariants(None).await.unwrap().ok());
    // A second run finds nothing more.
    let again = t.app.purge_personal_data(30).await.unwrap();
    assert!(again.accounts.is_empty(), "{again:?}");
}

crate::on_both_databases!(
    the_export_has_everything_and_erasure_leaves_nothing,
    the_cli_erases_and_refuses_unknown_users,
    retention_anonymises_only_what_is_old_enough,
);
