//! The runbook's backups, taken while a sale runs (runbook: "Backups and
//! restore"): SQLite with `VACUUM INTO`, Postgres with `pg_dump -Fc` restored
//! by `pg_restore` into a new database. The copy is a consistent snapshot: its
//! integrity check passes, the invariants hold on it once settled, and its
//! audit chain verifies.

use std::process::Command;
use std::time::Duration;

use crate::common::db::{TestDb, open_store, strings};
use crate::common::drill::{Cards, Crowd, SERVE_FLAGS, stage};
use crate::common::process::ServedBinary;
use crate::common::server::{TEST_JWT_SECRET, suite_clock};
use ticketctl::app::{App, AppConfig, Clock};
use ticketctl::domain::TripId;

/// The restored copy holds: invariants (after settling) and the audit chain.
/// The copy is settled as a server started on it would settle it some minutes
/// after the dump: an order caught mid-payment by the dump (its charge landed,
/// the order not yet confirmed) is past the in-flight window by then, so the
/// recovery confirms or refunds it instead of leaving it for a running server.
///
/// The card gateway is a party of its own and its ledger is not in the dump:
/// it also holds what the live server did after the dump (charges of orders
/// the copy does not know, refunds of orders cancelled since). Those, and
/// only those, are reported (after a restore they are settled by hand, see
/// the runbook): each such difference is explained by the live database.
async fn assert_copy_sound(copy: &TestDb, live: &TestDb, trip: TripId) {
    let restored_at = suite_clock().now() + chrono::Duration::minutes(5);
    let config = AppConfig {
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        clock: Clock::shifted_to(restored_at),
        gateway: crate::common::gateway::embedded_for(live.url(), Default::default()),
        ..AppConfig::default()
    };
    let app = App::new(open_store(copy).await, config).await.unwrap();
    app.settle().await.unwrap();
    let report = app.check_invariants(Some(trip)).await.unwrap();
    let last_order =
        crate::common::db::scalar(copy, "SELECT COALESCE(MAX(id), 0) FROM orders").await;
    let mut other = vec![];
    for m in &report.money_mismatches {
        let after_dump = if let Some(rest) = m.split("(order-").nth(1) {
            // A charge no order of the copy claims: an order made after the dump.
            let id: i64 = rest.split(')').next().unwrap().parse().unwrap();
            m.contains("but no order claims it") && id > last_order
        } else {
            // An order the live server changed after the dump (e.g. cancelled).
            let id = m
                .strip_prefix("order ")
                .and_then(|r| r.split(':').next())
                .unwrap();
            let sql =
                format!("SELECT status || ' ' || refunded_amount FROM orders WHERE id = {id}");
            let sql_pg = format!(
                "SELECT status || ' ' || refunded_amount::text FROM orders WHERE id = {id}"
            );
            let sql = if matches!(live, TestDb::Postgres(_)) {
                &sql_pg
            } else {
                &sql
            };
            strings(live, sql).await != strings(copy, sql).await
        };
        if !after_dump {
            other.push(m);
        }
    }
    assert!(other.is_empty(), "{report:#?}");
    assert!(report.tickets_match(), "{report:#?}");
    assert!(
        report.double_taken.is_empty() && report.mask_mismatches.is_empty(),
        "{report:#?}"
    );
    assert!(
        report.ledger.confirmed_passengers > 0,
        "the copy holds sales"
    );
    assert!(app.verify_audit().await.unwrap().intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_while_selling() {
    let db = crate::common::db::sqlite();
    let stage = stage(&db, 200).await;
    let server = ServedBinary::start(db.url(), &SERVE_FLAGS).await;
    let crowd = Crowd::start(&server.base, stage.trip, &stage.tokens, Cards::Mostly);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    let live = db.url().trim_start_matches("sqlite://").to_owned();
    let conn = rusqlite::Connection::open(&live).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute("VACUUM INTO ?1", [backup.to_string_lossy()])
        .expect("VACUUM INTO while the server writes");
    drop(conn);
    let seen = crowd.finish().await;
    server.stop();
    seen.assert_no_500s();

    let check: String = rusqlite::Connection::open(&backup)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let copy = TestDb::Sqlite {
        _dir: dir,
        url: format!("sqlite://{}", backup.display()),
    };
    assert_copy_sound(&copy, &db, stage.trip).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_while_selling() {
    let Some(db) = crate::common::db::postgres().await else {
        return;
    };
    let Some(copy) = crate::common::db::postgres().await else {
        return;
    };
    let stage = stage(&db, 200).await;
    let server = ServedBinary::start(db.url(), &SERVE_FLAGS).await;
    let crowd = Crowd::start(&server.base, stage.trip, &stage.tokens, Cards::Mostly);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("ticketctl.dump");
    let out = Command::new("pg_dump")
        .args(["-Fc", "-d", db.url(), "-f"])
        .arg(&dump)
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = crowd.finish().await;
    server.stop();
    seen.assert_no_500s();

    let out = Command::new("pg_restore")
        .args(["--no-owner", "-d", copy.url()])
        .arg(&dump)
        .output()
        .expect("run pg_restore");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_copy_sound(&copy, &db, stage.trip).await;
}
