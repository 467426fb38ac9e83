//! The waiting room's figures in `/metrics` agree with what its users were
//! told, with the room in memory and in Redis, on both backends.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::db::TestDb;
use crate::common::redis::TestRoom;
use crate::common::scrape::scrape;
use crate::common::server::{TestApp, quick_user, suite_second, test_config, tiny_trip};
use ticketctl::app::queue::SaleSettings;
use ticketctl::domain::waiting_room::SaleControl;

async fn the_room_gauges_match_what_users_were_told(db: TestDb, room: TestRoom) {
    let t = TestApp::start_manual(db, suite_second(), room.apply(test_config())).await;
    let trip = tiny_trip(&t.app, 40).await;
    t.app
        .waiting_room()
        .create(SaleSettings {
            id: "metrics".into(),
            opens_at: t.app.now() - chrono::Duration::seconds(1),
            trip_ids: vec![trip],
            rate_per_sec: 2.0,
            max_active: 3,
            idle_secs: 60,
        })
        .await
        .unwrap();
    let mut states = vec![];
    for n in 0..6 {
        let (_, token) = quick_user(&t.app, n).await;
        let r = t.post_as("/v1/queue/metrics/join", &token, json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        states.push(r.body["state"].as_str().unwrap().to_owned());
    }
    let admitted = states.iter().filter(|s| *s == "admitted").count() as f64;
    assert!((1.0..6.0).contains(&admitted), "{states:?}");

    t.app.refresh_gauges(false).await.unwrap();
    let s = scrape(&t.client, &format!("http://{}", t.addr)).await;
    let sale = r#"{sale="metrics"}"#;
    assert_eq!(
        s.must(&format!("ticketctl_waiting_room_admitted{sale}")),
        admitted
    );
    assert_eq!(
        s.must(&format!("ticketctl_waiting_room_waiting{sale}")),
        6.0 - admitted
    );
    assert_eq!(
        s.must(&format!("ticketctl_waiting_room_admissions_total{sale}")),
        admitted
    );
    assert_eq!(
        s.must(&format!("ticketctl_waiting_room_admission_rate{sale}")),
        2.0
    );

    // Paused: the set rate reads 0, so a stalled-room alert does not fire.
    t.app
        .waiting_room()
        .control(
            "metrics",
            SaleControl {
                paused: Some(true),
                rate_per_sec: None,
                max_active: None,
            },
        )
        .await
        .unwrap();
    t.app.refresh_gauges(false).await.unwrap();
    let s = scrape(&t.client, &format!("http://{}", t.addr)).await;
    assert_eq!(
        s.must(&format!("ticketctl_waiting_room_admission_rate{sale}")),
        0.0
    );
    t.shutdown().await;
}

on_both_rooms!(the_room_gauges_match_what_users_were_told);
