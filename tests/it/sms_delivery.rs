//! Traveller SMS through the mock SMS gateway over HTTP, on both backends:
//! a counter sale texts the buyer's phone (in Bangla, as unicode) and never
//! the clerk, a counter cancel texts the refund, an online order sends SMS and
//! e-mail, a failing number is retried with backoff and delivered once, an
//! invalid one is given up after one try, and a redelivered event sends nothing new.
//! What was sent is read from the gateway's own `GET /messages`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use ticketctl::adapters::sms_http::{HttpSmsSender, SmsGatewaySettings};
use ticketctl::app::AppConfig;
use ticketctl::app::notify::sms::SmsPolicy;
use ticketctl::domain::{HoldId, Role, ServiceDate, StationCode, TripId};
use ticketctl::outside::sms::{MockSms, Settings, TestNumber};
use ticketctl::outside::{Embedded, serve_embedded};
use ticketctl::store::NewStation;
use ticketctl::wire::sms_gateway::{CODE_ACCEPTED, CODE_INTERNAL, CODE_INVALID_NUMBER, Received};

use crate::common::db::TestDb;
use crate::common::server::{Reply, TestApp, test_config, tiny_trip};

pub const API_KEY: &str = "test-sms-key";
/// The first retry waits this long; each later one twice the one before.
const RETRY_BASE: Duration = Duration::from_millis(300);

/// What the mock gateway received for `number`, read over HTTP as a test would.
pub async fn received(base: &str, number: &str) -> Received {
    reqwest::get(format!("{base}/messages?to={number}"))
        .await
        .expect("the mock gateway answers")
        .json()
        .await
        .expect("its JSON")
}

/// Waits (up to 20 s) until `number` has `n` messages, and returns what it got.
pub async fn wait_for_messages(base: &str, number: &str, n: usize) -> Received {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = received(base, number).await;
        if got.messages.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{number} got {} of {n} messages: {got:?}",
            got.messages.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A server whose SMS go to a mock gateway of the test's own.
struct Rig {
    t: TestApp,
    gateway: Embedded,
}

impl Rig {
    async fn start(db: TestDb) -> Rig {
        Self::start_with(db, |app| app).await
    }

    async fn start_with(
        db: TestDb,
        plug: impl FnOnce(ticketctl::app::App) -> ticketctl::app::App,
    ) -> Rig {
        let mock = MockSms::new(Settings {
            api_key: Some(API_KEY.into()),
            ..Settings::default()
        });
        let gateway = serve_embedded(mock.router()).await.unwrap();
        let sender = HttpSmsSender::new(&SmsGatewaySettings {
            url: gateway.url(),
            api_key: API_KEY.into(),
            sender_id: "BDRAILWAY".into(),
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        let config = AppConfig {
            sms: SmsPolicy {
                retry_base: RETRY_BASE,
                retry_max: Duration::from_secs(2),
                max_attempts: 5,
                concurrency: 4,
            },
            ..test_config()
        };
        let t = TestApp::start_plugged(
            db,
            config,
            ticketctl::server::Limits::unlimited(),
            move |app| plug(app.with_sms_sender(Arc::new(sender))),
        )
        .await;
        Rig { t, gateway }
    }

    fn base(&self) -> String {
        self.gateway.url()
    }

    /// The tiny trip, with Bangla names for its ends.
    async fn trip(&self) -> TripId {
        let app = &self.t.app;
        let trip = tiny_trip(app, 12).await;
        for (code, en, bn) in [("DHK", "Dhaka", "ঢাকা"), ("CTG", "Chattogram", "চট্টগ্রাম")]
        {
            app.raw_store()
                .upsert_station(&NewStation {
                    code: StationCode::parse(code).unwrap(),
                    name_en: en.into(),
                    name_bn: Some(bn.into()),
                    aliases: vec![],
                })
                .await
                .unwrap();
        }
        // Scheduling a trip refreshes the app's catalogue, names and all.
        let later = ServiceDate::today_at(app.now()).add_days(2);
        app.schedule_trip(9001, later).await.unwrap();
        trip
    }

    /// Sells `seats` for cash to `phone`; returns the order as the counter sees it.
    async fn counter_sale(&self, clerk: &str, trip: TripId, seats: &[&str], phone: &str) -> Value {
        let r = self
            .try_counter_sale(clerk, trip, seats, json!({ "phone": phone }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let order = r.body["order_id"].as_i64().unwrap();
        let detail = self
            .t
            .get_as(&format!("/v1/counter/orders/{order}"), clerk)
            .await;
        assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
        detail.body
    }

    /// Holds `seats` and posts the counter order with `fields` (phone, lang) added.
    async fn try_counter_sale(
        &self,
        clerk: &str,
        trip: TripId,
        seats: &[&str],
        fields: Value,
    ) -> Reply {
        let t = &self.t;
        let h = t
            .post_as(
                "/v1/counter/holds",
                clerk,
                json!({ "trip_id": trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "seats": seats }),
            )
            .await;
        assert_eq!(h.status, StatusCode::CREATED, "{}", h.body);
        let hold = HoldId(h.body["hold_id"].as_i64().unwrap());
        let passengers: Vec<Value> = (0..seats.len())
            .map(|i| json!({ "name": format!("Rahima {i}") }))
            .collect();
        // A buyer's NID unless the test gives one: each sale is a different buyer.
        let nid = crate::common::server::fresh_nid();
        let mut body = json!({ "hold_id": hold, "passengers": passengers, "nid": nid });
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        let req = t
            .client
            .post(t.url("/v1/counter/orders"))
            .bearer_auth(clerk)
            .header("idempotency-key", format!("sale-{hold}"))
            .json(&body);
        Reply::from_response(req.send().await.unwrap()).await
    }
}

/// Bangla digits, written out here rather than taken from the library.
fn bn(s: &str) -> String {
    const DIGITS: [char; 10] = ['০', '১', '২', '৩', '৪', '৫', '৬', '৭', '৮', '৯'];
    s.chars()
        .map(|c| c.to_digit(10).map_or(c, |d| DIGITS[d as usize]))
        .collect()
}

async fn a_counter_sale_texts_the_buyer_in_bangla_and_never_the_clerk(db: TestDb) {
    let rig = Rig::start(db).await;
    let trip = rig.trip().await;
    let clerk = rig.t.user_token("01799000001", Role::Clerk).await;
    let order = rig
        .counter_sale(&clerk, trip, &["KA-1", "KA-2"], "01711111111")
        .await;
    let got = wait_for_messages(&rig.base(), "8801711111111", 1).await;
    let sms = &got.messages[0];
    let tickets = order["tickets"].as_array().unwrap();
    let pnr = |i: usize| tickets[i]["pnr"].as_str().unwrap().to_owned();
    let date = tickets[0]["claims"]["date"].as_str().unwrap(); // YYYY-MM-DD
    let day_month = format!("{}/{}", &date[8..10], &date[5..7]);
    assert_eq!(
        sms.message,
        format!(
            "বাংলাদেশ রেলওয়ে: ট্রেন ৯০০১ ঢাকা-চট্টগ্রাম {} ২৩:০০। PNR {} আসন KA-1, PNR {} আসন KA-2",
            bn(&day_month),
            pnr(0),
            pnr(1)
        ),
        "one SMS for the order, naming both seats"
    );
    assert_eq!(sms.kind, "unicode", "Bangla goes as UCS-2");
    assert_eq!(sms.sender_id, "BDRAILWAY");
    // 99 UTF-16 units: over one UCS-2 SMS (70), within two segments (2 × 67).
    assert_eq!(sms.segments, 2, "{}", sms.message.encode_utf16().count());
    assert_eq!(got.messages.len(), 1);

    // The clerk's account placed the order and hears nothing.
    rig.t.app.settle().await.unwrap();
    let clerk_got = received(&rig.base(), "8801799000001").await;
    assert!(clerk_got.attempts.is_empty(), "{clerk_got:?}");

    // Cancelling at the counter texts the refund to the same phone.
    let id = order["order"]["order_id"].as_i64().unwrap();
    let cancel = rig
        .t
        .post_as(
            &format!("/v1/counter/orders/{id}/cancel"),
            &clerk,
            json!({}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.body);
    let refund = cancel.body["cash_refund"].as_i64().unwrap();
    assert!(refund > 0, "{}", cancel.body);
    let got = wait_for_messages(&rig.base(), "8801711111111", 2).await;
    assert_eq!(
        got.messages[1].message,
        format!(
            "বাংলাদেশ রেলওয়ে: অর্ডার {} বাতিল। ফেরত {} টাকা।",
            bn(&id.to_string()),
            bn(&refund.to_string())
        )
    );
    rig.t.app.settle().await.unwrap();
    assert!(
        received(&rig.base(), "8801799000001")
            .await
            .attempts
            .is_empty()
    );
}

async fn an_online_order_sends_sms_and_email(db: TestDb) {
    let mut smtp = crate::common::smtp::SmtpSink::start().await;
    let mailer = Arc::new(
        ticketctl::adapters::smtp::SmtpMailer::new(&smtp.url(), "tickets <tickets@localhost>")
            .unwrap(),
    );
    let rig = Rig::start_with(db, move |app| app.with_mailer(mailer)).await;
    let trip = rig.trip().await;
    let booked = crate::common::booking_flow::book(&rig.t, trip, 7, 1, "4242424242424242").await;
    assert_eq!(
        booked.reply.body["status"], "confirmed",
        "{}",
        booked.reply.body
    );
    let got = wait_for_messages(&rig.base(), "8801700000007", 1).await;
    let sms = &got.messages[0];
    let pnr = booked.reply.body["tickets"][0]["pnr"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("a ticket in {}", booked.reply.body));
    let seat = booked.reply.body["tickets"][0]["seat"].as_str().unwrap();
    assert!(
        sms.message
            .starts_with("Bangladesh Railway: train 9001 Dhaka-Chattogram ")
            && sms
                .message
                .ends_with(&format!(" 23:00. PNR {pnr} seat {seat}")),
        "{}",
        sms.message
    );
    assert_eq!(sms.kind, "text", "English goes as GSM-7");
    assert_eq!(sms.segments, 1);
    let mail = smtp.next_mail(Duration::from_secs(10)).await;
    assert_eq!(mail.to, vec!["p7@test.ticketctl".to_owned()]);
    assert!(mail.data.contains(&pnr), "{}", mail.data);
}

async fn a_failing_number_is_retried_with_backoff_and_texted_once(db: TestDb) {
    let rig = Rig::start(db).await;
    let trip = rig.trip().await;
    let clerk = rig.t.user_token("01799000001", Role::Clerk).await;
    let number = TestNumber::failing(2);
    rig.counter_sale(&clerk, trip, &["KA-3"], &format!("+{number}"))
        .await;
    let got = wait_for_messages(&rig.base(), &number, 1).await;
    let codes: Vec<u16> = got.attempts.iter().map(|a| a.response_code).collect();
    assert_eq!(codes, [CODE_INTERNAL, CODE_INTERNAL, CODE_ACCEPTED]);
    let gaps: Vec<i64> = got
        .attempts
        .windows(2)
        .map(|w| w[1].at_ms - w[0].at_ms)
        .collect();
    let base = RETRY_BASE.as_millis() as i64;
    assert!(
        gaps[0] >= base && gaps[1] >= 2 * base,
        "backoff doubles: {gaps:?} ms"
    );
    assert!(
        got.attempts
            .iter()
            .all(|a| a.csms_id == got.attempts[0].csms_id)
    );
    assert_eq!(got.messages.len(), 1);

    rig.t.app.settle().await.unwrap();
    let sent = crate::common::db::scalar(
        &rig.t.db,
        "SELECT COUNT(*) FROM sms_messages WHERE status = 'sent' AND attempts = 3",
    )
    .await;
    assert_eq!(sent, 1);
    let m = crate::common::scrape::scrape(&rig.t.client, &rig.t.url("")).await;
    assert_eq!(m.must("ticketctl_sms_retries_total"), 2.0);
    assert_eq!(m.must("ticketctl_sms_sent_total{encoding=\"ucs2\"}"), 1.0);
    assert_eq!(received(&rig.base(), &number).await.attempts.len(), 3);
}

async fn an_invalid_number_is_tried_once_and_given_up(db: TestDb) {
    let rig = Rig::start(db).await;
    let trip = rig.trip().await;
    let clerk = rig.t.user_token("01799000001", Role::Clerk).await;
    let number = TestNumber::INVALID;
    rig.counter_sale(&clerk, trip, &["KA-4"], &format!("+{number}"))
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while crate::common::db::scalar(
        &rig.t.db,
        "SELECT COUNT(*) FROM sms_messages WHERE status = 'failed'",
    )
    .await
        == 0
    {
        assert!(Instant::now() < deadline, "the message was never given up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Longer than every backoff the policy could wait: nothing more is tried.
    tokio::time::sleep(RETRY_BASE * 4).await;
    rig.t.app.settle().await.unwrap();
    assert_eq!(rig.t.app.run_sms_once().await.unwrap(), 0);
    let got = received(&rig.base(), number).await;
    let codes: Vec<u16> = got.attempts.iter().map(|a| a.response_code).collect();
    assert_eq!(codes, [CODE_INVALID_NUMBER]);
    assert!(got.messages.is_empty());
    let m = crate::common::scrape::scrape(&rig.t.client, &rig.t.url("")).await;
    assert_eq!(
        m.must("ticketctl_sms_failed_total{reason=\"rejected\"}"),
        1.0
    );
    assert_eq!(m.must("ticketctl_sms_retries_total"), 0.0);
    // The sale itself stands, and the other events were all handled.
    let unhandled = crate::common::db::scalar(
        &rig.t.db,
        "SELECT COUNT(*) FROM outbox WHERE notified_at IS NULL",
    )
    .await;
    assert_eq!(unhandled, 0);
}

async fn a_redelivered_event_texts_nobody_twice(db: TestDb) {
    let rig = Rig::start(db).await;
    let trip = rig.trip().await;
    let clerk = rig.t.user_token("01799000001", Role::Clerk).await;
    rig.counter_sale(&clerk, trip, &["KA-5"], "01722222222")
        .await;
    wait_for_messages(&rig.base(), "8801722222222", 1).await;
    rig.t.app.settle().await.unwrap();
    let queued = "SELECT COUNT(*) FROM sms_messages";
    assert_eq!(crate::common::db::scalar(&rig.t.db, queued).await, 1);

    // The outbox event comes round again (a crash before it was marked): nothing new is queued.
    crate::common::db::exec(&rig.t.db, "UPDATE outbox SET notified_at = NULL").await;
    rig.t.app.settle().await.unwrap();
    assert_eq!(crate::common::db::scalar(&rig.t.db, queued).await, 1);

    // The gateway's answer was lost (a crash before the message was marked
    // sent): it is sent again with the same reference, and the gateway keeps it once.
    crate::common::db::exec(
        &rig.t.db,
        "UPDATE sms_messages SET status = 'pending', next_attempt_ms = 0, provider_id = NULL",
    )
    .await;
    rig.t.app.settle().await.unwrap();
    let got = received(&rig.base(), "8801722222222").await;
    assert_eq!(got.attempts.len(), 2, "{got:?}");
    assert!(got.attempts[1].duplicate);
    assert_eq!(got.messages.len(), 1, "texted once");
    let settled = crate::common::db::scalar(
        &rig.t.db,
        "SELECT COUNT(*) FROM sms_messages WHERE status = 'sent' AND provider_id IS NOT NULL",
    )
    .await;
    assert_eq!(settled, 1);
}

async fn a_counter_buyer_may_ask_for_english(db: TestDb) {
    let rig = Rig::start(db).await;
    let trip = rig.trip().await;
    let clerk = rig.t.user_token("01799000001", Role::Clerk).await;
    // A language we do not write in is refused before anything is sold.
    let r = rig
        .try_counter_sale(
            &clerk,
            trip,
            &["KA-6"],
            json!({ "phone": "01744444444", "lang": "fr" }),
        )
        .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "{}",
        r.content_type
    );
    let orders = crate::common::db::scalar(&rig.t.db, "SELECT COUNT(*) FROM orders").await;
    assert_eq!(orders, 0);

    let r = rig
        .try_counter_sale(
            &clerk,
            trip,
            &["KA-7"],
            json!({ "phone": "01744444444", "lang": "en" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let got = wait_for_messages(&rig.base(), "8801744444444", 1).await;
    let pnr = r.body["tickets"][0]["pnr"].as_str().unwrap();
    assert!(
        got.messages[0]
            .message
            .starts_with("Bangladesh Railway: train 9001 Dhaka-Chattogram ")
            && got.messages[0]
                .message
                .ends_with(&format!(" 23:00. PNR {pnr} seat KA-7")),
        "{}",
        got.messages[0].message
    );
    assert_eq!(got.messages[0].kind, "text");
}

async fn a_slow_number_holds_up_only_its_own_message(db: TestDb) {
    let rig = Rig::start(db).await;
    let trip = rig.trip().await;
    let clerk = rig.t.user_token("01799000001", Role::Clerk).await;
    rig.counter_sale(&clerk, trip, &["KA-8"], &format!("+{}", TestNumber::SLOW))
        .await;
    rig.counter_sale(&clerk, trip, &["KA-9"], "01755555555")
        .await;
    let quick = wait_for_messages(&rig.base(), "8801755555555", 1).await;
    let slow = wait_for_messages(&rig.base(), TestNumber::SLOW, 1).await;
    // The slow number answers after 3 s; the other message did not wait for it.
    assert!(
        quick.messages[0].at_ms < slow.messages[0].at_ms,
        "quick at {}, slow at {}",
        quick.messages[0].at_ms,
        slow.messages[0].at_ms
    );
    assert_eq!(
        slow.attempts.len(),
        1,
        "a slow answer within the timeout is no failure"
    );
}

/// Three apps (processes) on one Postgres database send the SMS of many
/// orders together: each message reaches the gateway once, with no repeats.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_apps_send_each_sms_once_postgres() {
    let Some(db) = crate::common::db::postgres().await else {
        return;
    };
    let rig = Rig::start(db).await;
    let trip = tiny_trip(&rig.t.app, 40).await;
    const ORDERS: u32 = 24;
    for n in 0..ORDERS {
        crate::common::booking_flow::book(&rig.t, trip, n + 1, 1, "4242424242424242").await;
    }
    let mut apps = vec![rig.t.app.clone()];
    for _ in 0..2 {
        let config = AppConfig {
            jwt_secret: Some(crate::common::server::TEST_JWT_SECRET.into()),
            ..test_config()
        };
        let sender = HttpSmsSender::new(&SmsGatewaySettings {
            url: rig.base(),
            api_key: API_KEY.into(),
            sender_id: "BDRAILWAY".into(),
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        let app = ticketctl::app::App::new(crate::common::db::open_store(&rig.t.db).await, config)
            .await
            .unwrap();
        apps.push(app.with_sms_sender(Arc::new(sender)));
    }
    let started = Instant::now();
    let runs: Vec<_> = apps
        .iter()
        .map(|a| {
            let a = a.clone();
            tokio::spawn(async move { a.settle().await.unwrap() })
        })
        .collect();
    for r in runs {
        r.await.unwrap();
    }
    for a in &apps {
        a.settle().await.unwrap();
    }
    let all: Received = reqwest::get(format!("{}/messages", rig.base()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    println!(
        "{} SMS from 3 apps in {:?}",
        all.messages.len(),
        started.elapsed()
    );
    assert_eq!(all.messages.len(), ORDERS as usize, "one SMS per order");
    assert_eq!(
        all.attempts.len(),
        ORDERS as usize,
        "and no message sent twice"
    );
    let numbers: std::collections::HashSet<&str> =
        all.messages.iter().map(|m| m.number.as_str()).collect();
    assert_eq!(numbers.len(), ORDERS as usize);
}

/// A thousand messages queued and sent through the gateway client and the
/// mock over HTTP by one app: all sent once; prints the rate.
async fn a_thousand_queued_messages_are_each_sent_once(db: TestDb) {
    let rig = Rig::start(db).await;
    let store = rig.t.app.raw_store();
    const N: i64 = 1000;
    // Queued 64 at a time (so the SQLite writer groups them), while the
    // app's own sender already takes them.
    use futures_util::StreamExt;
    let started = Instant::now();
    let inserted: Vec<bool> = futures_util::stream::iter(0..N)
        .map(|i| {
            let sms = ticketctl::store::sms::NewSms {
                reference: format!("load-{i}"),
                event_id: ticketctl::domain::EventId(i + 1),
                phone: format!("+88017{:08}", 10_000 + i),
                body: format!("Bangladesh Railway: test message {i}"),
            };
            let now = rig.t.app.now();
            async move { store.sms_enqueue(&sms, now).await.unwrap() }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert!(inserted.iter().all(|i| *i));
    let queued = started.elapsed();
    rig.t.app.settle().await.unwrap();
    let took = started.elapsed();
    let all: Received = reqwest::get(format!("{}/messages", rig.base()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    println!(
        "{N} SMS queued in {queued:?} and all sent {took:?} after the first: {:.0}/s",
        N as f64 / took.as_secs_f64()
    );
    assert_eq!(all.messages.len(), N as usize);
    assert_eq!(all.attempts.len(), N as usize, "none sent twice");
    let sent = crate::common::db::scalar(
        &rig.t.db,
        "SELECT COUNT(*) FROM sms_messages WHERE status = 'sent'",
    )
    .await;
    assert_eq!(sent, N);
}

on_both_databases!(
    a_counter_sale_texts_the_buyer_in_bangla_and_never_the_clerk,
    an_online_order_sends_sms_and_email,
    a_failing_number_is_retried_with_backoff_and_texted_once,
    an_invalid_number_is_tried_once_and_given_up,
    a_redelivered_event_texts_nobody_twice,
    a_counter_buyer_may_ask_for_english,
    a_slow_number_holds_up_only_its_own_message,
    a_thousand_queued_messages_are_each_sent_once,
);
