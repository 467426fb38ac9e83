//! Saga recovery, branch by branch, on both backends: each test builds the
//! state a crash leaves behind straight through the store and the gateway's
//! test helper (an order last touched two minutes ago, the gateway's record as
//! it would be), runs one
//! recovery round or a full settle, and checks the order, its seats, the
//! gateway's record and the invariants.
//!
//! The branches (src/app/workers.rs `recover_once`, `fulfil`): expired holds;
//! an order stuck in `paid`; a reserved order whose charge landed, was
//! declined, or never reached the gateway; an order too recent to touch; and
//! refunds the gateway has not made yet (a cancelled order, a failed order
//! whose charge landed after its timeout).

use chrono::{DateTime, Duration, Utc};
use ticketctl::app::App;
use ticketctl::app::workers::RecoveryReport;
use ticketctl::domain::{
    Charge, ChargeStatus, HoldId, HoldStatus, Journey, Order, OrderId, OrderStatus, SeatCap,
    SeatClass, SeatId, TicketStatus, TripId, UserId,
};
use ticketctl::store::{NewHold, NewOrder, OrderChange, PassengerInput};

use crate::common::db::{TestDb, open_store};
use crate::common::server::{quick_user, test_config, tiny_trip};

/// An app with no server (so no background worker races the test's own
/// recovery round), one trip, and one passenger.
struct Scene {
    app: App,
    trip: TripId,
    user: UserId,
    seat: SeatId,
    _db: TestDb,
}

async fn scene(db: TestDb) -> Scene {
    let app = App::new(open_store(&db).await, test_config())
        .await
        .unwrap();
    let trip = tiny_trip(&app, 4).await;
    let (user, _) = quick_user(&app, 1).await;
    let seat = app.raw_store().seats(trip).await.unwrap()[0].id;
    Scene {
        app,
        trip,
        user,
        seat,
        _db: db,
    }
}

impl Scene {
    /// A hold of the first seat DHK → CTG, made at `made`, running out at `expires`.
    async fn hold(&self, made: chrono::DateTime<Utc>, expires: chrono::DateTime<Utc>) -> HoldId {
        self.app
            .raw_store()
            .create_hold(&NewHold {
                trip_id: self.trip,
                user_id: self.user,
                from_stop: 0,
                to_stop: 3,
                mask: Journey::new(0, 3, 4).unwrap().mask(),
                class: SeatClass::ShovanChair,
                fare: 450,
                seat_ids: vec![self.seat],
                now: made,
                expires_at: expires,
                seat_cap: Some(SeatCap::PER_PASSENGER),
            })
            .await
            .unwrap()
            .id
    }

    /// A reserved order last touched `age` ago, as a crash before or during the
    /// charge leaves it.
    async fn reserved_order(&self, age: Duration) -> Order {
        self.reserved_order_held_until(age, self.app.now() + Duration::minutes(10))
            .await
    }

    /// A reserved order made `age` ago whose hold lasts until `hold_expires`.
    async fn reserved_order_held_until(&self, age: Duration, hold_expires: DateTime<Utc>) -> Order {
        let made = self.app.now() - age;
        let hold = self.hold(made, hold_expires).await;
        let order = self
            .app
            .raw_store()
            .create_order(&NewOrder {
                user_id: self.user,
                hold_id: hold,
                passengers: vec![PassengerInput {
                    name: "Rahim".parse().unwrap(),
                    nid: None,
                }],
                payment_token: "tok_recovery".into(),
                idempotency_key: format!("recovery-{hold}"),
                request_hash: "hash".into(),
                now: made,
            })
            .await
            .unwrap();
        assert_eq!(order.status, OrderStatus::Reserved);
        order
    }

    /// Writes the gateway's own record of the order's charge (through the
    /// gateway's test helper: its ledger is the gateway's, not ours).
    async fn gateway_says(&self, order: &Order, status: ChargeStatus, charge_id: &str) {
        crate::common::gateway::stage_charge(
            &self.app,
            &format!("order-{}", order.id),
            serde_json::json!({ "id": charge_id, "token": "tok_recovery", "amount": order.amount,
                                "status": status.as_str(), "refunded": 0 }),
        )
        .await;
    }

    async fn order(&self, id: OrderId) -> Order {
        self.app.raw_store().order(id).await.unwrap().unwrap()
    }

    async fn seat_mask(&self) -> u64 {
        let seats = self.app.raw_store().seats(self.trip).await.unwrap();
        seats
            .iter()
            .find(|s| s.id == self.seat)
            .unwrap()
            .taken
            .bits()
    }

    async fn charge(&self, order: OrderId) -> Charge {
        self.app
            .gateway
            .lookup(&format!("order-{order}"))
            .await
            .unwrap()
            .expect("the gateway has a record")
    }

    async fn valid_tickets(&self, order: OrderId) -> usize {
        let tickets = self.app.raw_store().tickets_of_order(order).await.unwrap();
        tickets
            .iter()
            .filter(|t| t.status == TicketStatus::Valid)
            .count()
    }

    async fn assert_invariants(&self) {
        let r = self.app.check_invariants(Some(self.trip)).await.unwrap();
        assert!(r.ok(), "{r:#?}");
    }
}

const OLD: Duration = Duration::minutes(2);

async fn an_expired_hold_is_swept_and_its_seat_freed(db: TestDb) {
    let s = scene(db).await;
    let hold = s
        .hold(s.app.now() - OLD, s.app.now() - Duration::minutes(1))
        .await;
    assert_eq!(s.seat_mask().await, 0b111);
    let report = s.app.recover_once().await.unwrap();
    assert_eq!(
        report,
        RecoveryReport {
            holds_expired: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        s.app.raw_store().hold(hold).await.unwrap().unwrap().status,
        HoldStatus::Expired
    );
    assert_eq!(s.seat_mask().await, 0);
    s.assert_invariants().await;
}

async fn an_order_stuck_in_paid_is_confirmed_with_its_ticket(db: TestDb) {
    let s = scene(db).await;
    let order = s.reserved_order(OLD).await;
    s.gateway_says(&order, ChargeStatus::Succeeded, "ch_paid")
        .await;
    let change = OrderChange {
        charge_id: Some("ch_paid".into()),
        ..Default::default()
    };
    let moved = s
        .app
        .raw_store()
        .transition_order(
            order.id,
            OrderStatus::Reserved,
            OrderStatus::Paid,
            &change,
            s.app.now() - OLD,
        )
        .await
        .unwrap();
    assert!(moved);
    let report = s.app.recover_once().await.unwrap();
    assert_eq!((report.orders_confirmed, report.orders_failed), (1, 0));
    s.app.settle().await.unwrap();
    let now = s.order(order.id).await;
    assert_eq!(now.status, OrderStatus::Confirmed);
    assert_eq!(now.charge_id.as_deref(), Some("ch_paid"));
    assert_eq!(s.valid_tickets(order.id).await, 1);
    assert_eq!(s.seat_mask().await, 0b111, "the seat stays sold");
    s.assert_invariants().await;
}

async fn a_reserved_order_whose_charge_landed_is_confirmed(db: TestDb) {
    let s = scene(db).await;
    let order = s.reserved_order(OLD).await;
    s.gateway_says(&order, ChargeStatus::Succeeded, "ch_landed")
        .await;
    let report = s.app.recover_once().await.unwrap();
    assert_eq!((report.orders_confirmed, report.orders_failed), (1, 0));
    s.app.settle().await.unwrap();
    let now = s.order(order.id).await;
    assert_eq!(now.status, OrderStatus::Confirmed);
    assert_eq!(now.charge_id.as_deref(), Some("ch_landed"));
    assert_eq!(s.valid_tickets(order.id).await, 1);
    assert_eq!(s.charge(order.id).await.refunded, 0, "the money is kept");
    s.assert_invariants().await;
}

async fn a_reserved_order_the_gateway_declined_fails_and_frees_its_seat(db: TestDb) {
    let s = scene(db).await;
    let order = s.reserved_order(OLD).await;
    s.gateway_says(&order, ChargeStatus::Declined, "ch_declined")
        .await;
    let report = s.app.recover_once().await.unwrap();
    assert_eq!((report.orders_confirmed, report.orders_failed), (0, 1));
    let now = s.order(order.id).await;
    assert_eq!(now.status, OrderStatus::Failed);
    assert_eq!(now.failure.as_deref(), Some("payment declined"));
    assert_eq!(s.seat_mask().await, 0);
    s.app.settle().await.unwrap();
    assert_eq!(s.valid_tickets(order.id).await, 0);
    s.assert_invariants().await;
}

async fn a_reserved_order_that_never_reached_the_gateway_fails_uncharged(db: TestDb) {
    let s = scene(db).await;
    // While its hold lasts, an order cut before its charge waits for the retry
    // that carries it on (same Idempotency-Key): recovery leaves it alone.
    let waiting = s.reserved_order(OLD).await;
    let report = s.app.recover_once().await.unwrap();
    assert_eq!((report.orders_confirmed, report.orders_failed), (0, 0));
    assert_eq!(s.order(waiting.id).await.status, OrderStatus::Reserved);
    assert_eq!(s.seat_mask().await, 0b111, "its seat stays held");
    s.app
        .raw_store()
        .transition_order(
            waiting.id,
            OrderStatus::Reserved,
            OrderStatus::Failed,
            &OrderChange::default(),
            s.app.now(),
        )
        .await
        .unwrap();
    s.app.settle().await.unwrap();
    assert_eq!(s.seat_mask().await, 0);

    // Once its hold has run out, it fails without a charge and frees the seat.
    let order = s
        .reserved_order_held_until(OLD, s.app.now() - Duration::seconds(1))
        .await;
    let report = s.app.recover_once().await.unwrap();
    assert_eq!((report.orders_confirmed, report.orders_failed), (0, 1));
    let now = s.order(order.id).await;
    assert_eq!(now.status, OrderStatus::Failed);
    assert_eq!(
        now.failure.as_deref(),
        Some("interrupted before payment; nothing was charged")
    );
    assert_eq!(s.seat_mask().await, 0);
    assert!(
        s.app
            .gateway
            .lookup(&format!("order-{}", order.id))
            .await
            .unwrap()
            .is_none(),
        "recovery never charges"
    );
    s.app.settle().await.unwrap();
    s.assert_invariants().await;
}

/// A charge may still be in flight in some server: recovery leaves a recent order alone.
async fn a_recent_order_is_left_to_its_saga(db: TestDb) {
    let s = scene(db).await;
    let order = s.reserved_order(Duration::zero()).await;
    let report = s.app.recover_once().await.unwrap();
    assert_eq!(report, RecoveryReport::default());
    assert_eq!(s.order(order.id).await.status, OrderStatus::Reserved);
    assert_eq!(s.seat_mask().await, 0b111);
}

/// Cancelled, then the process died before asking the gateway for the refund.
async fn a_refund_missing_at_the_gateway_is_paid_by_the_next_settle(db: TestDb) {
    let s = scene(db).await;
    let order = s.reserved_order(OLD).await;
    s.gateway_says(&order, ChargeStatus::Succeeded, "ch_refund")
        .await;
    s.app.recover_once().await.unwrap();
    s.app.settle().await.unwrap();
    let change = OrderChange {
        refunded_amount: Some(300),
        ..Default::default()
    };
    let moved = s
        .app
        .raw_store()
        .transition_order(
            order.id,
            OrderStatus::Confirmed,
            OrderStatus::Refunded,
            &change,
            s.app.now(),
        )
        .await
        .unwrap();
    assert!(moved);
    assert_eq!(s.charge(order.id).await.refunded, 0, "the crash came first");
    let before = s.app.check_invariants(Some(s.trip)).await.unwrap();
    assert_eq!(
        before.money_mismatches,
        vec![format!(
            "order {}: refunded with 300 taka refunded but the gateway refunded 0",
            order.id
        )],
        "the checker sees the refund owed"
    );
    s.app.settle().await.unwrap();
    assert_eq!(s.charge(order.id).await.refunded, 300);
    assert_eq!(s.valid_tickets(order.id).await, 0, "its ticket is void");
    assert_eq!(s.seat_mask().await, 0, "its seat is for sale again");
    s.assert_invariants().await;
}

/// The order failed on a timeout, and the charge landed at the gateway after all.
async fn a_failed_order_whose_charge_landed_late_is_refunded_in_full(db: TestDb) {
    let s = scene(db).await;
    let order = s.reserved_order(OLD).await;
    let change = OrderChange {
        failure: Some("payment timed out".into()),
        ..Default::default()
    };
    let moved = s
        .app
        .raw_store()
        .transition_order(
            order.id,
            OrderStatus::Reserved,
            OrderStatus::Failed,
            &change,
            s.app.now(),
        )
        .await
        .unwrap();
    assert!(moved);
    s.gateway_says(&order, ChargeStatus::Succeeded, "ch_late")
        .await;
    s.app.settle().await.unwrap();
    assert_eq!(s.charge(order.id).await.refunded, order.amount);
    assert_eq!(s.order(order.id).await.status, OrderStatus::Failed);
    s.assert_invariants().await;
}

on_both_databases!(
    an_expired_hold_is_swept_and_its_seat_freed,
    an_order_stuck_in_paid_is_confirmed_with_its_ticket,
    a_reserved_order_whose_charge_landed_is_confirmed,
    a_reserved_order_the_gateway_declined_fails_and_frees_its_seat,
    a_reserved_order_that_never_reached_the_gateway_fails_uncharged,
    a_recent_order_is_left_to_its_saga,
    a_refund_missing_at_the_gateway_is_paid_by_the_next_settle,
    a_failed_order_whose_charge_landed_late_is_refunded_in_full,
);
