//! An order as the API shows it, built from entities already at hand (the
//! confirmation builds its reply before the tickets exist in the caller's hands).
//!
//! A pure function of its inputs: may not read the store or the clock.

use std::collections::HashMap;

use crate::domain::time::to_local_rfc3339;
use crate::domain::{Hold, Order, SeatId, Ticket, Train};
use crate::store::TripRecord;

use crate::wire::booking::{OrderSeat, OrderTicket, OrderView};

/// What the API shows of an order, from entities already at hand.
pub(crate) fn order_view_of(
    order: &Order,
    hold: &Hold,
    trip: &TripRecord,
    train: &Train,
    tickets: &[Ticket],
) -> OrderView {
    let labels = seat_labels(hold);
    let from = &train.stops[hold.from_stop as usize];
    OrderView {
        order_id: order.id,
        status: order.status,
        trip_id: trip.id,
        train: train.number,
        date: trip.date.to_string(),
        from: from.station.to_string(),
        to: train.stops[hold.to_stop as usize].station.to_string(),
        departs: to_local_rfc3339(trip.date.at(from.boards_at())),
        class: hold.class,
        seats: order
            .passengers
            .iter()
            .map(|p| OrderSeat {
                seat: labels.get(&p.seat_id).cloned().unwrap_or_default(),
                passenger: p.name.to_string(),
            })
            .collect(),
        amount: order.amount,
        refunded: order.refunded_amount,
        failure: order.failure.clone(),
        tickets: order_tickets(&labels, tickets),
        created_at: to_local_rfc3339(order.created_at),
        wallet: None,
    }
}

/// The labels of a hold's seats, by seat.
pub(crate) fn seat_labels(hold: &Hold) -> HashMap<SeatId, String> {
    hold.seats.iter().map(|s| (s.id, s.label())).collect()
}

/// An order's tickets as the API shows them, labelled with `labels` (`seat_labels`).
pub(crate) fn order_tickets(
    labels: &HashMap<SeatId, String>,
    tickets: &[Ticket],
) -> Vec<OrderTicket> {
    tickets
        .iter()
        .map(|t| OrderTicket {
            ticket_id: t.id,
            pnr: t.pnr.clone(),
            seat: labels.get(&t.seat_id).cloned().unwrap_or_default(),
            status: t.status,
        })
        .collect()
}
