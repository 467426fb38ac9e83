//! A database made by the previous version (migrations up to 0008, whose
//! Postgres functions spelled event payloads in SQL) keeps working after
//! migration 0009: the events already in its outbox are read back, audited and
//! relayed.

use ticketctl::app::{App, AppConfig};
use ticketctl::store::Consumer;

use crate::common::db::open_store;
use crate::common::server::{TEST_JWT_SECRET, suite_second, test_config};

/// Events as the 0004 functions wrote them (`format()` in plpgsql), and a
/// transition as the Rust code passed it.
const OLD_EVENTS: &str = r#"
INSERT INTO outbox (kind, subject_id, payload, created_at) VALUES
  ('order.reserved', 4, format('{"amount":%s,"order_id":%s}', 1250, 4), 1790000000),
  ('order.paid', 4, '{"failure":null,"from":"reserved","order_id":4,"refunded":null,"to":"paid"}', 1790000001),
  ('ticket.issued', 9, format('{"order_id":%s,"pnr":%s,"ticket_id":%s}', 4, to_json('AB23CD45EF'::text), 9), 1790000002),
  ('hold.expired', 3, format('{"hold_id":%s}', 3), 1790000003)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_the_previous_version_keeps_its_events_postgres_nats() {
    let Some(db) = crate::common::db::postgres().await else {
        return;
    };
    let Some(stream) = crate::common::nats::stream().await else {
        return;
    };
    {
        let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
        let mut old = sqlx::migrate::Migrator::new(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations/postgres"
        )))
        .await
        .unwrap();
        old.migrations = old
            .migrations
            .iter()
            .filter(|m| m.version <= 8)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        old.run(&pool).await.unwrap();
        sqlx::query(OLD_EVENTS).execute(&pool).await.unwrap();
        // The old functions are still those of 0004.
        let args: String = sqlx::query_scalar(
            "SELECT pg_get_function_arguments('ticketctl_expire_holds'::regproc)",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(args, "p_now bigint, p_limit bigint");
        pool.close().await;
    }
    let store = open_store(&db).await; // migrates to the current version
    let config = AppConfig {
        jwt_secret: Some(TEST_JWT_SECRET.into()),
        clock: ticketctl::app::Clock::manual(suite_second()),
        ..test_config()
    };
    let publisher = stream.publisher();
    let app = App::new(store, config)
        .await
        .unwrap()
        .with_event_publisher(publisher.clone());

    let events = app
        .raw_store()
        .outbox_pending(Consumer::Audit, 100)
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            "order.reserved",
            "order.paid",
            "ticket.issued",
            "hold.expired"
        ]
    );
    assert_eq!(
        events[2].event,
        ticketctl::domain::Event::TicketIssued {
            ticket_id: ticketctl::domain::TicketId(9),
            order_id: ticketctl::domain::OrderId(4),
            pnr: "AB23CD45EF".into(),
        }
    );

    assert_eq!(app.run_outbox_once(Consumer::Audit).await.unwrap(), 4);
    let check = app.verify_audit().await.unwrap();
    assert_eq!(check.first_broken, None, "{}", check.detail);
    assert_eq!(check.entries, 4);

    assert_eq!(app.relay_once(publisher.as_ref()).await.unwrap(), 4);
    let relayed = stream.messages().await;
    let ids: Vec<String> = relayed.iter().map(|m| m.msg_id.clone()).collect();
    let want: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(ids, want);
    assert_eq!(
        relayed[3].envelope["payload"],
        serde_json::json!({ "hold_id": 3 })
    );

    // The new functions are in place and write events from Rust.
    assert!(
        app.raw_store()
            .expire_holds(suite_second(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
