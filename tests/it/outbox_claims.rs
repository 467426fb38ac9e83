//! Outbox events are claimed with leases: with several apps (processes) on
//! one database each event is handled once, and the events of a claimant that
//! dies are taken by another once its lease lapses.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ticketctl::app::workers::OUTBOX_LEASE;
use ticketctl::app::{App, AppConfig};
use ticketctl::store::{Consumer, OutboxClaim};

use crate::common::booking_flow::book;
use crate::common::db::{TestDb, open_store};
use crate::common::server::{TEST_JWT_SECRET, TestApp, suite_second, test_config, tiny_trip};
use crate::common::smtp::SmtpSink;

const CARD: &str = "4242424242424242";

fn mailer(smtp: &SmtpSink) -> Arc<ticketctl::adapters::smtp::SmtpMailer> {
    Arc::new(
        ticketctl::adapters::smtp::SmtpMailer::new(&smtp.url(), "tickets <tickets@localhost>")
            .unwrap(),
    )
}

/// Runs every consumer of `app` until none finds work.
async fn drain(app: &App) {
    loop {
        let mut n = 0;
        for c in [
            Consumer::Fulfillment,
            Consumer::Notification,
            Consumer::Audit,
        ] {
            n += app.run_outbox_once(c).await.unwrap();
        }
        if n == 0 {
            return;
        }
    }
}

/// Three apps on one Postgres database run their consumers together over many
/// confirmed orders: one e-mail per ticket, and an audit chain with every event once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_apps_send_each_notification_once_postgres() {
    let Some(db) = crate::common::db::postgres().await else {
        return;
    };
    let mut smtp = SmtpSink::start().await;
    let plug = mailer(&smtp);
    let t = TestApp::start_plugged(
        db,
        test_config(),
        ticketctl::server::Limits::unlimited(),
        move |app| app.with_mailer(plug),
    )
    .await;
    let trip = tiny_trip(&t.app, 40).await;
    const ORDERS: u32 = 24;
    for n in 0..ORDERS {
        book(&t, trip, n + 1, 1, CARD).await;
    }
    let mut apps = vec![t.app.clone()];
    for _ in 0..2 {
        let config = AppConfig {
            jwt_secret: Some(TEST_JWT_SECRET.into()),
            ..test_config()
        };
        let app = App::new(open_store(&t.db).await, config).await.unwrap();
        apps.push(app.with_mailer(mailer(&smtp)));
    }
    // Together, as three processes would (the first also runs its own workers).
    let runs: Vec<_> = apps
        .iter()
        .map(|a| {
            let a = a.clone();
            tokio::spawn(async move { drain(&a).await })
        })
        .collect();
    for r in runs {
        r.await.unwrap();
    }
    for a in &apps {
        drain(a).await;
    }
    let mails = smtp.drain(Duration::from_secs(2)).await;
    let tickets = crate::common::db::scalar(&t.db, "SELECT COUNT(*) FROM tickets").await;
    assert_eq!(
        tickets, ORDERS as i64,
        "every order confirmed with its ticket"
    );
    assert_eq!(mails.len() as i64, tickets, "one e-mail per ticket issued");
    let pnrs: HashSet<String> = mails
        .iter()
        .filter_map(|m| m.data.split("Your ticket ").nth(1))
        .map(|rest| rest.split(' ').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(pnrs.len() as i64, tickets, "no ticket told twice");
    let check = t.app.verify_audit().await.unwrap();
    assert_eq!(check.first_broken, None, "{}", check.detail);
    let events = crate::common::db::scalar(&t.db, "SELECT COUNT(*) FROM outbox").await;
    assert_eq!(check.entries as i64, events, "each event audited once");
}

async fn claim(app: &App, owner: &str, consumer: Consumer, limit: i64) -> Vec<i64> {
    let claim = OutboxClaim {
        owner: owner.into(),
        now: app.clock().now(),
        lease: OUTBOX_LEASE,
    };
    app.raw_store()
        .outbox_claim(consumer, &claim, limit)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id.get())
        .collect()
}

async fn pending(app: &App, consumer: Consumer) -> Vec<i64> {
    app.raw_store()
        .outbox_pending(consumer, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id.get())
        .collect()
}

/// An app with no server and no background workers on `db`, on a manual clock,
/// with `n` events planted in its outbox: only the test's calls consume them.
async fn quiet_app_with_events(db: &TestDb, n: i64) -> App {
    let config = AppConfig {
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        clock: ticketctl::app::Clock::manual(suite_second()),
        ..test_config()
    };
    let app = App::new(open_store(db).await, config).await.unwrap();
    let at = suite_second().timestamp();
    for hold in 1..=n {
        crate::common::db::exec(
            db,
            &format!(
                "INSERT INTO outbox (kind, subject_id, payload, created_at) \
                 VALUES ('hold.expired', {hold}, '{{\"hold_id\":{hold}}}', {at})"
            ),
        )
        .await;
    }
    app
}

/// A claimant that dies without marking its batch (here: claims and never
/// comes back) keeps it from the others for the lease, then loses it.
async fn a_dead_claimants_events_are_taken_after_the_lease(db: TestDb) {
    let app = quiet_app_with_events(&db, 5).await;
    let taken = claim(&app, "dead-process", Consumer::Audit, 3).await;
    assert_eq!(taken.len(), 3);
    assert_eq!(
        app.run_outbox_once(Consumer::Audit).await.unwrap(),
        2,
        "the rest"
    );
    assert_eq!(
        app.run_outbox_once(Consumer::Audit).await.unwrap(),
        0,
        "nobody else handles a claimed batch while its lease runs"
    );
    assert_eq!(pending(&app, Consumer::Audit).await, taken);
    let clock = app.clock().as_manual().unwrap();
    clock.advance(OUTBOX_LEASE - chrono::Duration::seconds(1));
    assert_eq!(app.run_outbox_once(Consumer::Audit).await.unwrap(), 0);
    clock.advance(chrono::Duration::seconds(1));
    assert_eq!(app.run_outbox_once(Consumer::Audit).await.unwrap(), 3);
    assert!(pending(&app, Consumer::Audit).await.is_empty());
    let check = app.verify_audit().await.unwrap();
    assert_eq!(check.first_broken, None, "{}", check.detail);
    assert_eq!(check.entries, 5, "each event audited once");
}

/// Claims arriving together share no event, and together take a full batch each
/// while events last.
async fn claims_arriving_together_share_nothing(db: TestDb) {
    let app = quiet_app_with_events(&db, 30).await;
    let claims: Vec<_> = (0..8)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(
                async move { claim(&app, &format!("p{i}"), Consumer::Notification, 3).await },
            )
        })
        .collect();
    let mut seen = HashSet::new();
    for c in claims {
        let ids = c.await.unwrap();
        assert_eq!(ids.len(), 3, "a full batch: {ids:?}");
        for id in ids {
            assert!(seen.insert(id), "event {id} claimed twice");
        }
    }
    assert_eq!(seen.len(), 24);
    assert_eq!(
        pending(&app, Consumer::Notification).await.len(),
        30,
        "claimed, not done"
    );
}

on_both_databases!(
    a_dead_claimants_events_are_taken_after_the_lease,
    claims_arriving_together_share_nothing
);
