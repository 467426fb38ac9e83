//! Conformance of the queued-sale store on both backends: a sale and its
//! trips are written all or nothing, a trip is in one sale at most (also when
//! two sales claim it at once), and an admin's change keeps what it leaves out.

use chrono::DateTime;
use std::sync::Arc;
use ticketctl::domain::TripId;
use ticketctl::domain::waiting_room::{QueuedSale, SaleControl, SaleSettings};
use ticketctl::store::StoreError;
use ticketctl::store::prelude::*;

fn sale(id: &str, trips: &[i64]) -> QueuedSale {
    QueuedSale {
        settings: SaleSettings {
            id: id.into(),
            // Milliseconds are kept.
            opens_at: DateTime::from_timestamp_millis(1_800_000_000_123).unwrap(),
            trip_ids: trips.iter().copied().map(TripId).collect(),
            rate_per_sec: 12.5,
            max_active: 300,
            idle_secs: 90,
        },
        paused: false,
    }
}

async fn a_sale_round_trips_and_gates_its_trips(store: Arc<dyn Store>) {
    assert_eq!(store.queued_sale("eid").await.unwrap(), None);
    assert_eq!(store.queued_sale_of_trip(TripId(7)).await.unwrap(), None);
    // Trips come back once each, in ascending order.
    store
        .create_queued_sale(&sale("eid", &[9, 7, 9, 8]))
        .await
        .unwrap();
    let read = store.queued_sale("eid").await.unwrap().unwrap();
    assert_eq!(read, sale("eid", &[7, 8, 9]));
    for trip in [7, 8, 9] {
        assert_eq!(
            store.queued_sale_of_trip(TripId(trip)).await.unwrap(),
            Some("eid".into())
        );
    }
    assert_eq!(store.queued_sale_of_trip(TripId(10)).await.unwrap(), None);
}

async fn a_taken_id_or_trip_refuses_the_whole_sale(store: Arc<dyn Store>) {
    store
        .create_queued_sale(&sale("eid", &[1, 2]))
        .await
        .unwrap();
    let again = store.create_queued_sale(&sale("eid", &[3])).await;
    assert!(
        matches!(&again, Err(StoreError::Conflict(m)) if m.contains("exists")),
        "{again:?}"
    );
    let overlap = store.create_queued_sale(&sale("other", &[3, 2])).await;
    assert!(
        matches!(&overlap, Err(StoreError::Conflict(m)) if m.contains("already in a queued sale")),
        "{overlap:?}"
    );
    // Nothing of the refused sales was written: trip 3 is free, "other" unknown.
    assert_eq!(store.queued_sale("other").await.unwrap(), None);
    assert_eq!(store.queued_sale_of_trip(TripId(3)).await.unwrap(), None);
    store
        .create_queued_sale(&sale("other", &[3]))
        .await
        .unwrap();
}

async fn two_sales_claiming_one_trip_at_once_one_wins(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_queued_sale(&sale(&format!("sale-{n}"), &[100 + n, 42]))
                    .await
            })
        })
        .collect();
    let mut won = vec![];
    for (n, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(()) => won.push(n as i64),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let winner = format!("sale-{}", won[0]);
    assert_eq!(
        store.queued_sale_of_trip(TripId(42)).await.unwrap(),
        Some(winner.clone())
    );
    for n in 0..8 {
        let gated = store.queued_sale_of_trip(TripId(100 + n)).await.unwrap();
        assert_eq!(gated.is_some(), n == won[0], "trip {}: {gated:?}", 100 + n);
    }
}

async fn a_control_changes_only_what_it_names(store: Arc<dyn Store>) {
    store.create_queued_sale(&sale("eid", &[1])).await.unwrap();
    let paused = store
        .control_queued_sale(
            "eid",
            &SaleControl {
                paused: Some(true),
                ..SaleControl::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        paused,
        sale("eid", &[1]).with(SaleControl {
            paused: Some(true),
            ..SaleControl::default()
        })
    );
    let change = SaleControl {
        paused: Some(false),
        rate_per_sec: Some(0.25),
        max_active: Some(7),
    };
    let changed = store.control_queued_sale("eid", &change).await.unwrap();
    assert_eq!(changed, Some(sale("eid", &[1]).with(change)));
    assert_eq!(store.queued_sale("eid").await.unwrap(), changed);
    assert_eq!(
        store.control_queued_sale("nosuch", &change).await.unwrap(),
        None
    );
}

on_both_stores!(
    a_sale_round_trips_and_gates_its_trips,
    a_taken_id_or_trip_refuses_the_whole_sale,
    two_sales_claiming_one_trip_at_once_one_wins,
    a_control_changes_only_what_it_names,
);
