//! Fraud velocity checks, over HTTP on both backends and with the counters in
//! memory and in Redis (the same cases, so both kinds behave alike): each
//! rule trips (holds per minute per account and per NID, distinct cards per
//! account, accounts per card, failed payments), a step-up passes with an
//! SMS code (read from the mock SMS gateway) and with TOTP and refuses wrong
//! and replayed codes, wrong codes end in a block, the sliding window lets
//! acts through again once it has moved on, and blocks are listed and
//! cleared over HTTP and with `ticketctl risk list|clear`.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use ticketctl::adapters::sms_http::{HttpSmsSender, SmsGatewaySettings};
use ticketctl::app::AppConfig;
use ticketctl::domain::risk::RiskPolicy;
use ticketctl::domain::{Role, TripId};
use ticketctl::outside::sms::{MockSms, Settings};
use ticketctl::outside::{Embedded, serve_embedded};

use crate::common::booking_flow::card;
use crate::common::db::TestDb;
use crate::common::gateway::{info, tokenize};
use crate::common::redis::TestRoom;
use crate::common::server::{
    Reply, TestApp, code_at, current_code, mint_token_at, quick_user, suite_now, test_config,
    tiny_trip,
};
use crate::sms_delivery::received;

const SMS_KEY: &str = "test-sms-key";

/// `test_config()` with the risk counters kept in `room` and `rules` set.
pub fn risk_config(room: &TestRoom, rules: &[&str]) -> AppConfig {
    let mut risk = RiskPolicy::default();
    for rule in rules {
        risk.set(rule).unwrap();
    }
    room.apply(AppConfig {
        risk,
        ..test_config()
    })
}

/// A server whose SMS go to a mock gateway of the test's own.
struct Rig {
    t: TestApp,
    sms: Embedded,
    trip: TripId,
    admin: String,
}

impl Rig {
    async fn start(db: TestDb, config: AppConfig) -> Rig {
        let mock = MockSms::new(Settings {
            api_key: Some(SMS_KEY.into()),
            ..Settings::default()
        });
        let sms = serve_embedded(mock.router()).await.unwrap();
        let sender = HttpSmsSender::new(&SmsGatewaySettings {
            url: sms.url(),
            api_key: SMS_KEY.into(),
            sender_id: "BDRAILWAY".into(),
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        let t = TestApp::start_plugged(
            db,
            config,
            ticketctl::server::Limits::unlimited(),
            move |app| app.with_sms_sender(Arc::new(sender)),
        )
        .await;
        let trip = tiny_trip(&t.app, 40).await;
        let (admin_id, _) = quick_user(&t.app, 9_000).await;
        t.app.set_role(admin_id, Role::Admin).await.unwrap();
        let admin = mint_token_at(t.app.now(), admin_id, Role::Admin, 600);
        Rig {
            t,
            sms,
            trip,
            admin,
        }
    }

    /// A request as `token`, with a step-up code when given.
    async fn send(&self, path: &str, token: &str, body: Value, code: Option<&str>) -> Reply {
        let mut req = self
            .t
            .client
            .post(self.t.url(path))
            .bearer_auth(token)
            .header("idempotency-key", format!("k-{}", rand::random::<u64>()))
            .json(&body);
        if let Some(code) = code {
            req = req.header("x-step-up-code", code);
        }
        Reply::from_response(req.send().await.expect("the server answers")).await
    }

    async fn hold(&self, token: &str, code: Option<&str>) -> Reply {
        let body = json!({ "trip_id": self.trip, "from": "DHK", "to": "CTG", "class": "S_CHAIR", "count": 1 });
        self.send("/v1/holds", token, body, code).await
    }

    /// Registers card `number` for `token`'s account (tokenised at the gateway).
    async fn add_card(&self, token: &str, number: &str, code: Option<&str>) -> Reply {
        let gw = info(&self.t.client, &self.t.url("")).await;
        let tok = tokenize(&self.t.client, &gw, number).await;
        self.send(
            "/v1/payments/tokens",
            token,
            json!({ "gateway_token": tok }),
            code,
        )
        .await
    }

    async fn decisions(&self, active: bool) -> Vec<Value> {
        let path = if active {
            "/v1/admin/risk?active=true"
        } else {
            "/v1/admin/risk"
        };
        let r = self.t.get_as(path, &self.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["decisions"].as_array().unwrap().clone()
    }

    async fn clear(&self, subject: &str, value: &str) -> Reply {
        self.t
            .post_as(
                "/v1/admin/risk/clear",
                &self.admin,
                json!({ "subject": subject, "value": value }),
            )
            .await
    }

    /// The code in the `nth` step-up message texted to `quick_user(_, n)`'s
    /// phone (other messages, e.g. "payment failed", are passed over).
    async fn texted_code(&self, n: u32, nth: usize) -> String {
        let number = format!("88017{n:08}");
        for _ in 0..400 {
            let got = received(&self.sms.url(), &number).await;
            let codes: Vec<String> = got
                .messages
                .iter()
                .filter(|m| m.message.contains("verification code"))
                .filter_map(|m| {
                    m.message
                        .split(|c: char| !c.is_ascii_digit())
                        .find(|w| w.len() == 6)
                        .map(str::to_owned)
                })
                .collect();
            if let Some(code) = codes.get(nth - 1) {
                return code.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no step-up code number {nth} reached {number}");
    }
}

async fn holds_per_account_step_up_with_sms(db: TestDb, room: TestRoom) {
    let rig = Rig::start(db, risk_config(&room, &["holds_per_account=2/1m:step-up"])).await;
    let (user, token) = quick_user(&rig.t.app, 1).await;
    for _ in 0..2 {
        let r = rig.hold(&token, None).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = rig.hold(&token, None).await;
    r.assert_problem(403, "step-up-required");
    assert_eq!(r.body["methods"], json!(["sms"]));
    assert_eq!(r.body["rule"], "holds_per_account");
    assert_eq!(r.body["reason"], "3 holds per account in 1m (limit 2)");

    // A code by SMS; a wrong one is refused and changes nothing.
    let sent = rig
        .send("/v1/me/step-up/sms", &token, json!({}), None)
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    assert_eq!(sent.body["sent_to"], "+880170*****01");
    let code = rig.texted_code(1, 1).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    rig.hold(&token, Some(wrong))
        .await
        .assert_problem(422, "invalid-field");
    rig.hold(&token, Some("12ab"))
        .await
        .assert_problem(422, "invalid-field");
    let r = rig.hold(&token, Some(&code)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Passed, the account goes on for a while without a code…
    let r = rig.hold(&token, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // …and the code works once.
    rig.hold(&token, Some(&code))
        .await
        .assert_problem(422, "invalid-field");

    let listed = rig.decisions(false).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["outcome"], "step-up");
    assert_eq!(listed[0]["subject_kind"], "account");
    assert_eq!(listed[0]["subject"], user.to_string());
    assert_eq!(listed[0]["active"], false);
    assert_eq!(rig.decisions(true).await.len(), 0);
    // Audited through the outbox like every other event.
    let kinds = audit_kinds(&rig.t).await;
    assert!(kinds.contains(&"risk.decided".to_owned()), "{kinds:?}");
}

/// The kinds in the audit log once the audit consumer has caught up.
async fn audit_kinds(t: &TestApp) -> Vec<String> {
    for _ in 0..200 {
        let log = t.app.raw_store().audit_log().await.unwrap();
        let kinds: Vec<String> = log.iter().map(|e| e.kind.clone()).collect();
        if kinds.iter().any(|k| k.starts_with("risk.")) {
            return kinds;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no risk event reached the audit log");
}

async fn step_up_with_totp(db: TestDb, room: TestRoom) {
    let rig = Rig::start(db, risk_config(&room, &["holds_per_account=1/1m:step-up"])).await;
    let (_, token) = quick_user(&rig.t.app, 2).await;
    let enrol = rig
        .t
        .post_as("/v1/auth/mfa/enroll", &token, json!({}))
        .await;
    assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.body);
    let secret = enrol.body["secret"].as_str().unwrap().to_owned();
    let ok = rig
        .t
        .post_as(
            "/v1/auth/mfa/verify",
            &token,
            json!({ "code": current_code(&secret) }),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);

    assert_eq!(rig.hold(&token, None).await.status, StatusCode::CREATED);
    let r = rig.hold(&token, None).await;
    r.assert_problem(403, "step-up-required");
    assert_eq!(r.body["methods"], json!(["totp"]));
    // The enrolment's code was used: replaying it is refused; the next step's passes.
    rig.hold(&token, Some(&current_code(&secret)))
        .await
        .assert_problem(422, "invalid-field");
    let next = code_at(&secret, suite_now().timestamp() + 30);
    let r = rig.hold(&token, Some(&next)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    rig.hold(&token, Some(&next))
        .await
        .assert_problem(422, "invalid-field");
}

async fn wrong_codes_end_in_a_block_listed_and_cleared(db: TestDb, room: TestRoom) {
    let rig = Rig::start(
        db,
        risk_config(
            &room,
            &[
                "holds_per_account=1/1m:step-up",
                "step_up_failures=2/15m:block",
            ],
        ),
    )
    .await;
    let (user, token) = quick_user(&rig.t.app, 3).await;
    assert_eq!(rig.hold(&token, None).await.status, StatusCode::CREATED);
    rig.hold(&token, None)
        .await
        .assert_problem(403, "step-up-required");
    rig.send("/v1/me/step-up/sms", &token, json!({}), None)
        .await;
    let code = rig.texted_code(3, 1).await;
    let wrong = if code == "999999" { "888888" } else { "999999" };
    for _ in 0..2 {
        rig.hold(&token, Some(wrong))
            .await
            .assert_problem(422, "invalid-field");
    }
    let r = rig.hold(&token, Some(wrong)).await;
    r.assert_problem(403, "risk-blocked");
    assert_eq!(r.body["rule"], "step_up_failures");
    // Blocked: even the right code, and any hold, is refused.
    rig.hold(&token, Some(&code))
        .await
        .assert_problem(403, "risk-blocked");
    rig.hold(&token, None)
        .await
        .assert_problem(403, "risk-blocked");

    let active = rig.decisions(true).await;
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0]["rule"], "step_up_failures");
    assert_eq!(active[0]["subject"], user.to_string());

    // Bad input changes nothing.
    rig.clear("planet", "1")
        .await
        .assert_problem(422, "invalid-field");
    rig.clear("account", "")
        .await
        .assert_problem(422, "invalid-field");
    rig.clear("account", "999999")
        .await
        .assert_problem(404, "not-found");
    let (_, passenger) = quick_user(&rig.t.app, 4).await;
    rig.t
        .post_as(
            "/v1/admin/risk/clear",
            &passenger,
            json!({ "subject": "account", "value": user.to_string() }),
        )
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(rig.decisions(true).await.len(), 1);

    let r = rig.clear("account", &user.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["cleared"], json!([active[0]["id"]]));
    assert_eq!(rig.decisions(true).await.len(), 0);
    // Counters start afresh: one hold before the step-up again.
    let r = rig.hold(&token, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    rig.hold(&token, None)
        .await
        .assert_problem(403, "step-up-required");
}

async fn holds_per_nid_block(db: TestDb, room: TestRoom) {
    let rig = Rig::start(
        db,
        risk_config(
            &room,
            &["holds_per_account=off", "holds_per_nid=3/1m:block"],
        ),
    )
    .await;
    let (_, token) = quick_user(&rig.t.app, 5).await;
    for _ in 0..3 {
        assert_eq!(rig.hold(&token, None).await.status, StatusCode::CREATED);
    }
    let r = rig.hold(&token, None).await;
    r.assert_problem(403, "risk-blocked");
    assert_eq!(r.body["rule"], "holds_per_nid");
    let active = rig.decisions(true).await;
    assert_eq!(active[0]["subject_kind"], "nid");
    assert_eq!(active[0]["subject"], "5600000000005");
    // Another account is not affected.
    let (_, other) = quick_user(&rig.t.app, 6).await;
    assert_eq!(rig.hold(&other, None).await.status, StatusCode::CREATED);
}

async fn distinct_cards_per_account_step_up(db: TestDb, room: TestRoom) {
    let rig = Rig::start(db, risk_config(&room, &["cards_per_account=2/1d:step-up"])).await;
    let (_, token) = quick_user(&rig.t.app, 7).await;
    for number in ["4242424242424242", "5555555555554444", "4242424242424242"] {
        let r = rig.add_card(&token, number, None).await;
        assert_eq!(r.status, StatusCode::CREATED, "{number}: {}", r.body);
    }
    // A third distinct card steps up.
    let r = rig.add_card(&token, "4000000000000002", None).await;
    r.assert_problem(403, "step-up-required");
    assert_eq!(r.body["rule"], "cards_per_account");
    rig.send("/v1/me/step-up/sms", &token, json!({}), None)
        .await;
    let code = rig.texted_code(7, 1).await;
    let r = rig.add_card(&token, "4000000000000002", Some(&code)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn accounts_per_card_block_cleared_by_the_cli(db: TestDb, room: TestRoom) {
    let rig = Rig::start(db, risk_config(&room, &["accounts_per_card=2/1d:block"])).await;
    let mut tokens = vec![];
    for n in 10..13 {
        tokens.push(quick_user(&rig.t.app, n).await.1);
    }
    for token in &tokens[..2] {
        let r = rig.add_card(token, "4242424242424242", None).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = rig.add_card(&tokens[2], "4242424242424242", None).await;
    r.assert_problem(403, "risk-blocked");
    assert_eq!(r.body["rule"], "accounts_per_card");
    // The card is blocked for everyone, the first accounts too.
    rig.add_card(&tokens[0], "4242424242424242", None)
        .await
        .assert_problem(403, "risk-blocked");
    let active = rig.decisions(true).await;
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0]["subject_kind"], "card");
    assert_eq!(active[0]["subject"], "visa-4242-12/2035");

    // The CLI lists it and clears it.
    let listed = cli(&rig.t, &["risk", "list", "--active"], &room);
    assert!(
        listed.contains("accounts_per_card") && listed.contains("visa-4242-12/2035"),
        "{listed}"
    );
    assert!(listed.contains("1 decisions"), "{listed}");
    let out = cli(
        &rig.t,
        &["risk", "clear", "card", "visa-4242-12/2035"],
        &room,
    );
    assert!(out.contains("cleared 1 block(s)"), "{out}");
    assert_eq!(rig.decisions(true).await.len(), 0);
    let r = rig.add_card(&tokens[2], "4242424242424242", None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Clearing what is not blocked is an error with a message.
    let failed = Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .args(["risk", "clear", "card", "visa-4242-12/2035"])
        .env("DATABASE_URL", rig.t.db.url())
        .env("TICKETCTL_LOG", "warn")
        .output()
        .unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("no block in force"));
}

/// Runs `ticketctl` on the test's database (and Redis, for the room's
/// counters); answers its output, asserting success.
fn cli(t: &TestApp, args: &[&str], room: &TestRoom) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ticketctl"));
    cmd.args(args)
        .env("DATABASE_URL", t.db.url())
        .env("TICKETCTL_LOG", "warn")
        .env_remove("REDIS_URL");
    if let (TestRoom::Redis(r), Some(&"clear")) = (room, args.get(1)) {
        cmd.args(["--redis-url", &r.url, "--redis-prefix", &r.prefix]);
    }
    let out = cmd.output().expect("run ticketctl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ticketctl {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn failed_payments_block_the_account(db: TestDb, room: TestRoom) {
    let rig = Rig::start(
        db,
        risk_config(&room, &["failed_payments_per_account=2/1h:block"]),
    )
    .await;
    let (user, token) = quick_user(&rig.t.app, 20).await;
    let declined = card(&rig.t, &token, "4000000000000002").await;
    for _ in 0..3 {
        let held = rig.hold(&token, None).await;
        assert_eq!(held.status, StatusCode::CREATED, "{}", held.body);
        let body = json!({ "hold_id": held.body["hold_id"], "passengers": [{ "name": "Rahim Uddin" }], "payment_token": declined });
        let r = rig.send("/v1/orders", &token, body, None).await;
        r.assert_problem(402, "payment-failed");
    }
    // The third failure blocked the account: the next hold is refused.
    let r = rig.hold(&token, None).await;
    r.assert_problem(403, "risk-blocked");
    assert_eq!(r.body["rule"], "failed_payments_per_account");
    assert_eq!(
        r.body["reason"],
        "3 failed payments per account in 1h (limit 2)"
    );
    let r = rig.clear("account", &user.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(rig.hold(&token, None).await.status, StatusCode::CREATED);
}

async fn failed_payments_step_up_the_next_order(db: TestDb, room: TestRoom) {
    let rig = Rig::start(
        db,
        risk_config(&room, &["failed_payments_per_account=1/1h:step-up"]),
    )
    .await;
    let (_, token) = quick_user(&rig.t.app, 21).await;
    let declined = card(&rig.t, &token, "4000000000000002").await;
    let good = card(&rig.t, &token, "4242424242424242").await;
    let order = |hold: Value, card: &str| json!({ "hold_id": hold, "passengers": [{ "name": "Rahim Uddin" }], "payment_token": card });
    for _ in 0..2 {
        let held = rig.hold(&token, None).await;
        let r = rig
            .send(
                "/v1/orders",
                &token,
                order(held.body["hold_id"].clone(), &declined),
                None,
            )
            .await;
        r.assert_problem(402, "payment-failed");
    }
    // Two failures is past the limit of one: the next order steps up, and
    // with the SMS code it is placed and paid.
    let held = rig.hold(&token, None).await;
    let r = rig
        .send(
            "/v1/orders",
            &token,
            order(held.body["hold_id"].clone(), &good),
            None,
        )
        .await;
    r.assert_problem(403, "step-up-required");
    assert_eq!(r.body["rule"], "failed_payments_per_account");
    rig.send("/v1/me/step-up/sms", &token, json!({}), None)
        .await;
    let code = rig.texted_code(21, 1).await;
    let r = rig
        .send(
            "/v1/orders",
            &token,
            order(held.body["hold_id"].clone(), &good),
            Some(&code),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

/// A manual clock: once the window has moved past the acts, they no longer count.
async fn the_window_slides(db: TestDb, room: TestRoom) {
    let config = AppConfig {
        clock: ticketctl::app::Clock::manual(crate::common::server::suite_second()),
        sweep_every: Duration::from_secs(3600),
        ..risk_config(&room, &["holds_per_account=2/1m:step-up"])
    };
    let rig = Rig::start(db, config).await;
    let clock = rig.t.manual_clock();
    let (_, token) = quick_user(&rig.t.app, 30).await;
    assert_eq!(rig.hold(&token, None).await.status, StatusCode::CREATED);
    clock.advance(chrono::Duration::seconds(40));
    assert_eq!(rig.hold(&token, None).await.status, StatusCode::CREATED);
    rig.hold(&token, None)
        .await
        .assert_problem(403, "step-up-required");
    // 61 s after the first hold only the second (and the refused try) are in the window.
    clock.advance(chrono::Duration::seconds(21));
    rig.hold(&token, None)
        .await
        .assert_problem(403, "step-up-required");
    // Past every one of them: through again.
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(rig.hold(&token, None).await.status, StatusCode::CREATED);
}

async fn step_up_sms_is_throttled(db: TestDb, room: TestRoom) {
    let rig = Rig::start(db, risk_config(&room, &[])).await;
    let (_, token) = quick_user(&rig.t.app, 31).await;
    // Each text is awaited before the next is asked for: the outbox may
    // deliver queued texts in any order, and "first" must mean first sent.
    for nth in 1..=5 {
        let r = rig
            .send("/v1/me/step-up/sms", &token, json!({}), None)
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        rig.texted_code(31, nth).await;
    }
    let r = rig
        .send("/v1/me/step-up/sms", &token, json!({}), None)
        .await;
    r.assert_problem(429, "step-up-throttled");
    // Only the last code sent works.
    let first = rig.texted_code(31, 1).await;
    let last = rig.texted_code(31, 5).await;
    if first != last {
        rig.hold(&token, Some(&first))
            .await
            .assert_problem(422, "invalid-field");
    }
}

crate::on_both_rooms!(
    holds_per_account_step_up_with_sms,
    step_up_with_totp,
    wrong_codes_end_in_a_block_listed_and_cleared,
    holds_per_nid_block,
    distinct_cards_per_account_step_up,
    accounts_per_card_block_cleared_by_the_cli,
    failed_payments_block_the_account,
    failed_payments_step_up_the_next_order,
    the_window_slides,
    step_up_sms_is_throttled,
);
