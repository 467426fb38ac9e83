//! The invariant checker that most tests rely on, shown to catch each kind of
//! violation: every test books cleanly, checks that the report is clean, then
//! plants one kind of damage straight in the database or in the card
//! gateway's ledger (behind the app's back) and expects exactly that kind
//! reported, with its message.

use crate::common::booking_flow::{Booked, book};
use crate::common::db::{exec, scalar};
use crate::common::gateway::{stage_charge, tamper};
use crate::common::server::{TestApp, tiny_trip};
use serde_json::json;
use ticketctl::app::invariants::{InvariantReport, Violation};
use ticketctl::domain::TripId;

const CARD: &str = "4242424242424242";
const DECLINED: &str = "4000000000000002";

async fn report(t: &TestApp, trip: TripId) -> InvariantReport {
    t.app.check_invariants(Some(trip)).await.unwrap()
}

/// A trip with one confirmed order of one seat, checked clean.
async fn one_sale(t: &TestApp) -> (TripId, Booked) {
    let trip = tiny_trip(&t.app, 8).await;
    let sold = book(t, trip, 1, 1, CARD).await;
    assert_eq!(
        sold.reply.body["status"], "confirmed",
        "{}",
        sold.reply.body
    );
    t.app.settle().await.unwrap();
    let clean = report(t, trip).await;
    assert!(clean.ok(), "clean before planting: {clean:#?}");
    (trip, sold)
}

async fn a_seat_segment_held_by_two_live_claims_is_reported_double_taken(t: TestApp) {
    let (trip, sold) = one_sale(&t).await;
    let h = sold.hold_id;
    // A second, active hold on the sold seat for the same journey.
    exec(
        &t.db,
        &format!(
            "INSERT INTO holds (trip_id, user_id, from_stop, to_stop, mask, class, fare, status, created_at, expires_at)
             SELECT trip_id, user_id, from_stop, to_stop, mask, class, fare, 'active', created_at, expires_at + 3600
               FROM holds WHERE id = {h};
             INSERT INTO hold_seats (hold_id, seat_id)
             SELECT (SELECT MAX(id) FROM holds), seat_id FROM hold_seats WHERE hold_id = {h};"
        ),
    )
    .await;
    let planted = scalar(&t.db, "SELECT MAX(id) FROM holds").await;
    let seat = scalar(
        &t.db,
        &format!("SELECT seat_id FROM hold_seats WHERE hold_id = {h}"),
    )
    .await;
    let r = report(&t, trip).await;
    assert_eq!(r.violations(), vec![Violation::DoubleTaken], "{r:#?}");
    assert_eq!(
        r.double_taken,
        vec![format!(
            "seat {seat}: hold {planted} overlaps another live claim"
        )]
    );
}

async fn a_seat_mask_without_a_claim_is_reported_mask_mismatch(t: TestApp) {
    let (trip, sold) = one_sale(&t).await;
    // A free seat marked taken on the first segment, with no hold behind it.
    let free = scalar(
        &t.db,
        &format!(
            "SELECT MIN(id) FROM seats WHERE trip_id = {trip} AND taken = 0
               AND id NOT IN (SELECT seat_id FROM hold_seats WHERE hold_id = {})",
            sold.hold_id
        ),
    )
    .await;
    exec(
        &t.db,
        &format!("UPDATE seats SET taken = 1 WHERE id = {free}"),
    )
    .await;
    let r = report(&t, trip).await;
    assert_eq!(r.violations(), vec![Violation::MaskMismatch], "{r:#?}");
    assert_eq!(
        r.mask_mismatches,
        vec![format!("seat {free}: mask 0b1 but live claims 0b0")]
    );
}

async fn a_sold_seat_whose_mask_lost_a_segment_is_reported_mask_mismatch(t: TestApp) {
    let (trip, sold) = one_sale(&t).await;
    let seat = scalar(
        &t.db,
        &format!(
            "SELECT seat_id FROM hold_seats WHERE hold_id = {}",
            sold.hold_id
        ),
    )
    .await;
    // DHK → CTG is segments 0..3 (0b111); drop the middle one.
    exec(
        &t.db,
        &format!("UPDATE seats SET taken = 5 WHERE id = {seat}"),
    )
    .await;
    let r = report(&t, trip).await;
    assert_eq!(r.violations(), vec![Violation::MaskMismatch], "{r:#?}");
    assert_eq!(
        r.mask_mismatches,
        vec![format!("seat {seat}: mask 0b101 but live claims 0b111")]
    );
}

async fn a_valid_ticket_of_an_unconfirmed_order_is_reported_stray(t: TestApp) {
    let (trip, sold) = one_sale(&t).await;
    let failed = book(&t, trip, 2, 1, DECLINED).await;
    assert_eq!(failed.reply.body["order"]["status"], "failed");
    t.app.settle().await.unwrap();
    assert!(report(&t, trip).await.ok());
    exec(
        &t.db,
        &format!(
            "INSERT INTO tickets (pnr, order_id, passenger_seq, seat_id, status, payload, issued_at)
             SELECT 'STRAY0001', {}, passenger_seq, seat_id, 'valid', payload, issued_at
               FROM tickets WHERE order_id = {}",
            failed.order_id, sold.order_id
        ),
    )
    .await;
    let r = report(&t, trip).await;
    assert_eq!(r.violations(), vec![Violation::StrayTickets], "{r:#?}");
    assert_eq!(r.ledger.stray_tickets, 1);
}

async fn a_confirmed_order_without_its_ticket_is_reported_missing(t: TestApp) {
    let (trip, sold) = one_sale(&t).await;
    exec(
        &t.db,
        &format!(
            "UPDATE tickets SET status = 'cancelled' WHERE order_id = {}",
            sold.order_id
        ),
    )
    .await;
    let r = report(&t, trip).await;
    assert_eq!(r.violations(), vec![Violation::MissingTickets], "{r:#?}");
    assert_eq!(
        (r.ledger.valid_tickets, r.ledger.confirmed_passengers),
        (0, 1)
    );
}

async fn a_gateway_charge_of_another_amount_is_reported(t: TestApp) {
    let (trip, sold) = one_sale(&t).await;
    let o = sold.order_id;
    tamper(&t.app, &format!("order-{o}"), |c| c["amount"] = json!(500)).await;
    let r = report(&t, trip).await;
    assert_eq!(r.violations(), vec![Violation::MoneyMismatch], "{r:#?}");
    assert_eq!(
        r.money_mismatches,
        vec![format!(
            "order {o}: confirmed for 450 taka but the gateway charged 500"
        )]
    );
}

/// Totals alone would pass this: one order overcharged by 50, another
/// undercharged by 50. Each is reconciled with the gateway on its own.
async fn errors_that_cancel_out_in_the_totals_are_still_reported(t: TestApp) {
    let (trip, first) = one_sale(&t).await;
    let second = book(&t, trip, 2, 1, CARD).await;
    t.app.settle().await.unwrap();
    let (a, b) = (first.order_id, second.order_id);
    tamper(&t.app, &format!("order-{a}"), |c| c["amount"] = json!(500)).await;
    tamper(&t.app, &format!("order-{b}"), |c| c["amount"] = json!(400)).await;
    let r = report(&t, trip).await;
    assert_eq!(
        r.ledger.orders_net, r.ledger.gateway_net,
        "the totals agree"
    );
    assert_eq!(r.violations(), vec![Violation::MoneyMismatch], "{r:#?}");
    assert_eq!(
        r.money_mismatches,
        vec![
            format!("order {a}: confirmed for 450 taka but the gateway charged 500"),
            format!("order {b}: confirmed for 450 taka but the gateway charged 400"),
        ]
    );
}

async fn a_confirmed_order_the_gateway_never_charged_is_reported(t: TestApp) {
    let (trip, sold) = one_sale(&t).await;
    let o = sold.order_id;
    tamper(&t.app, &format!("order-{o}"), |c| {
        c["status"] = json!("declined")
    })
    .await;
    let r = report(&t, trip).await;
    assert_eq!(r.violations(), vec![Violation::MoneyMismatch], "{r:#?}");
    assert_eq!(
        r.money_mismatches,
        vec![format!(
            "order {o}: confirmed for 450 taka but the gateway holds no succeeded charge for it"
        )]
    );
}

async fn a_refund_the_gateway_did_not_make_is_reported(t: TestApp) {
    let (trip, sold) = one_sale(&t).await;
    let o = sold.order_id;
    let cancelled = t
        .post_as(
            &format!("/v1/orders/{o}/cancel"),
            &sold.token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        cancelled.status,
        reqwest::StatusCode::OK,
        "{}",
        cancelled.body
    );
    t.app.settle().await.unwrap();
    assert!(report(&t, trip).await.ok());
    let status = cancelled.body["status"].as_str().unwrap().to_owned();
    let owed = cancelled.body["refunded"].as_i64().unwrap();
    // Whatever the refund tier gave, the gateway now says otherwise.
    let wrong = if owed > 0 { 0 } else { 1 };
    tamper(&t.app, &format!("order-{o}"), |c| {
        c["refunded"] = json!(wrong)
    })
    .await;
    let r = report(&t, trip).await;
    assert_eq!(r.violations(), vec![Violation::MoneyMismatch], "{r:#?}");
    assert_eq!(
        r.money_mismatches,
        vec![format!(
            "order {o}: {status} with {owed} taka refunded but the gateway refunded {wrong}"
        )]
    );
}

async fn money_the_gateway_kept_for_a_failed_order_is_reported(t: TestApp) {
    let (trip, _) = one_sale(&t).await;
    let failed = book(&t, trip, 2, 1, DECLINED).await;
    t.app.settle().await.unwrap();
    assert!(report(&t, trip).await.ok());
    let o = failed.order_id;
    tamper(&t.app, &format!("order-{o}"), |c| {
        c["status"] = json!("succeeded")
    })
    .await;
    let r = report(&t, trip).await;
    assert_eq!(r.violations(), vec![Violation::MoneyMismatch], "{r:#?}");
    assert_eq!(
        r.money_mismatches,
        vec![format!(
            "order {o}: failed but the gateway kept 450 of a 450 taka charge"
        )]
    );
}

async fn a_gateway_charge_no_order_claims_is_reported(t: TestApp) {
    let (trip, _) = one_sale(&t).await;
    stage_charge(
        &t.app,
        "order-999999",
        json!({ "id": "ch_orphan", "token": "tok_orphan", "amount": 100, "status": "succeeded" }),
    )
    .await;
    let r = report(&t, trip).await;
    assert_eq!(r.violations(), vec![Violation::MoneyMismatch], "{r:#?}");
    assert_eq!(
        r.money_mismatches,
        vec![
            "gateway charge ch_orphan (order-999999) kept 100 taka but no order claims it"
                .to_owned()
        ]
    );
}

on_both_backends!(
    a_seat_segment_held_by_two_live_claims_is_reported_double_taken,
    a_seat_mask_without_a_claim_is_reported_mask_mismatch,
    a_sold_seat_whose_mask_lost_a_segment_is_reported_mask_mismatch,
    a_valid_ticket_of_an_unconfirmed_order_is_reported_stray,
    a_confirmed_order_without_its_ticket_is_reported_missing,
    a_gateway_charge_of_another_amount_is_reported,
    errors_that_cancel_out_in_the_totals_are_still_reported,
    a_confirmed_order_the_gateway_never_charged_is_reported,
    a_refund_the_gateway_did_not_make_is_reported,
    money_the_gateway_kept_for_a_failed_order_is_reported,
    a_gateway_charge_no_order_claims_is_reported,
);
