//! `ticketctl rehearse` against several running servers: two `serve`
//! processes (the real binary) on one Postgres database and one Redis; the
//! rehearsal logs in as an admin, creates the queued sale through the API,
//! spreads the passengers over both servers in turn, and gives the invariants
//! verdict from the database.

use std::process::Command;

use crate::common::db::{open_store, postgres};
use crate::common::process::{ServeFlags, ServedBinary};
use crate::common::redis::shared;
use crate::common::server::{PASSWORD, TEST_JWT_SECRET, test_config};
use ticketctl::app::identity::Registration;
use ticketctl::app::seed::Quiet;
use ticketctl::app::{App, AppConfig};
use ticketctl::domain::{Role, ServiceDate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rehearse_spreads_a_queued_sale_over_two_servers_postgres_redis() {
    let Some(redis) = shared() else { return };
    let Some(db) = postgres().await else { return };
    let config = AppConfig {
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        ..test_config()
    };
    let app = App::new(open_store(&db).await, config).await.unwrap();
    let mut report = app.seed_network(&Quiet).await.unwrap();
    let tomorrow = ServiceDate::today_at(app.now()).add_days(1);
    app.seed_trips(&[tomorrow], &mut report, &Quiet)
        .await
        .unwrap();
    app.register(Registration {
        name: "Admin".into(),
        phone: "01799000000".into(),
        email: "admin@test.ticketctl".into(),
        password: PASSWORD.into(),
        role: Role::Admin,
        nid: None,
    })
    .await
    .unwrap();

    let gateway = crate::common::gateway::GatewayProcess::start(
        crate::common::gateway::ledger_path(db.url()),
        &[],
    )
    .await;
    let flags = ServeFlags::new()
        .with("gateway-url", &gateway.url)
        .redis(&redis)
        .rates(0, 0)
        .with("max-holds-per-address", 0);
    let a = ServedBinary::start(db.url(), &flags.args()).await;
    let b = ServedBinary::start(db.url(), &flags.args()).await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = db.url().to_owned();
    let (a_base, b_base) = (a.base.clone(), b.base.clone());
    let gateway_url = gateway.url.clone();
    let chart = dir.path().join("chart.svg");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_ticketctl"))
            .args(["rehearse", "--server", &a_base, "--server", &b_base])
            .args(["--admin-email", "admin@test.ticketctl"])
            .args(["--gateway-url", &gateway_url])
            .args(["--use-database", "--passengers", "40", "--concurrency", "8"])
            .args([
                "--arrival-secs",
                "1",
                "--poll-ms",
                "100",
                "--json",
                "--chart",
            ])
            .arg(&chart)
            .env("TICKETCTL_ADMIN_PASSWORD", PASSWORD)
            .env("TICKETCTL_JWT_SECRET", TEST_JWT_SECRET)
            .env("DATABASE_URL", db_url)
            .env("TICKETCTL_LOG", "error")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let report = crate::common::process::rehearsal_report(&out);
    let servers = report["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{report}");
    for s in servers {
        assert_eq!(s["passengers"], 20, "passengers spread in turn: {report}");
        assert_eq!(s["unexpected"], 0, "{report}");
    }
    let bookings: u64 = servers
        .iter()
        .map(|s| s["bookings"].as_u64().unwrap())
        .sum();
    assert_eq!(report["bookings"].as_u64(), Some(bookings));
    assert!(bookings > 0, "{report}");
    // The crowd went through the waiting room the admin's sale made.
    let waits = &report["queue_waits"];
    assert!(waits.is_object(), "{report}");
    drop((a, b));
}
