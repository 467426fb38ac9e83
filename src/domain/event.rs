//! Every event the system writes to its outbox, as one type with one
//! serialisation: a kind string (`order.confirmed`, …) and a JSON payload.
//!
//! The text is part of a contract: rows already in the outbox, the audit
//! chain's hashes (taken over the stored payload) and the NATS envelope
//! (docs/events.md) all carry it. So the payload keeps today's fields and
//! spelling: compact JSON with keys in alphabetical order. [`Event::parse`] is
//! the one place a kind is read back from a string.

use serde::Deserialize;
use serde_json::json;

use super::{HoldId, OrderId, OrderStatus, RiskDecisionId, SubjectId, TicketId, TripId};

/// What happened, with the ids of what it happened to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An order took its hold's seats (`order.reserved`).
    OrderReserved { order_id: OrderId, amount: i64 },
    /// The gateway took the money (`order.paid`).
    OrderPaid(OrderMove),
    /// A wallet payment was started; its outcome comes by callback
    /// (`order.awaiting_payment`).
    OrderAwaitingPayment(OrderMove),
    /// Tickets may be issued (`order.confirmed`).
    OrderConfirmed(OrderMove),
    /// The order failed; its seats are free again (`order.failed`).
    OrderFailed(OrderMove),
    /// The hold ran out before payment (`order.expired`).
    OrderExpired(OrderMove),
    /// Cancelled with nothing to refund (`order.cancelled`).
    OrderCancelled(OrderMove),
    /// Cancelled with a refund due (`order.refunded`).
    OrderRefunded(OrderMove),
    /// A hold ran out and freed its seats (`hold.expired`).
    HoldExpired { hold_id: HoldId },
    /// A ticket was issued for one passenger of a confirmed order (`ticket.issued`).
    TicketIssued {
        ticket_id: TicketId,
        order_id: OrderId,
        pnr: String,
    },
    /// A fraud-velocity rule stepped up or blocked a subject (`risk.decided`).
    /// The subject's value (an NID, a phone) stays in the decision's row.
    RiskDecided {
        decision_id: RiskDecisionId,
        rule: String,
        outcome: String,
        subject_kind: String,
    },
    /// An admin cleared a block (`risk.cleared`).
    RiskCleared { decision_id: RiskDecisionId },
    /// The order's train is delayed by `minutes` (`order.trip_delayed`): its
    /// passengers are told, and may cancel with a full refund.
    OrderTripDelayed {
        order_id: OrderId,
        trip_id: TripId,
        minutes: i64,
    },
    /// Staff acted on a whole trip (`trip.operated`): cancelled, delayed, its
    /// sale window moved, a coach added or taken out of sale. `actor` says who.
    TripOperated {
        trip_id: TripId,
        action: String,
        actor: String,
        detail: String,
    },
}

/// An order's status change: where it came from and what the change recorded.
/// Where it went is the event's variant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderMove {
    pub order_id: OrderId,
    pub from: OrderStatus,
    pub failure: Option<String>,
    pub refunded: Option<i64>,
}

/// A stored kind or payload that is not an event of this version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("unknown event kind {0:?}")]
    UnknownKind(String),
    #[error("{kind} payload: {message}")]
    BadPayload { kind: String, message: String },
    #[error("an order does not move to {0} by a transition")]
    NotATransition(OrderStatus),
}

impl Event {
    /// The event of an order moving from `from` to `to`.
    pub fn order_moved(
        order_id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
        failure: Option<String>,
        refunded: Option<i64>,
    ) -> Result<Event, EventError> {
        let m = OrderMove {
            order_id,
            from,
            failure,
            refunded,
        };
        Ok(match to {
            OrderStatus::Paid => Event::OrderPaid(m),
            OrderStatus::AwaitingPayment => Event::OrderAwaitingPayment(m),
            OrderStatus::Confirmed => Event::OrderConfirmed(m),
            OrderStatus::Failed => Event::OrderFailed(m),
            OrderStatus::Expired => Event::OrderExpired(m),
            OrderStatus::Cancelled => Event::OrderCancelled(m),
            OrderStatus::Refunded => Event::OrderRefunded(m),
            OrderStatus::Pending | OrderStatus::Reserved => {
                return Err(EventError::NotATransition(to));
            }
        })
    }

    /// The kind: the outbox's `kind` column and the NATS subject's tail.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::OrderReserved { .. } => "order.reserved",
            Event::OrderPaid(_) => "order.paid",
            Event::OrderAwaitingPayment(_) => "order.awaiting_payment",
            Event::OrderConfirmed(_) => "order.confirmed",
            Event::OrderFailed(_) => "order.failed",
            Event::OrderExpired(_) => "order.expired",
            Event::OrderCancelled(_) => "order.cancelled",
            Event::OrderRefunded(_) => "order.refunded",
            Event::HoldExpired { .. } => "hold.expired",
            Event::TicketIssued { .. } => "ticket.issued",
            Event::RiskDecided { .. } => "risk.decided",
            Event::RiskCleared { .. } => "risk.cleared",
            Event::TripOperated { .. } => "trip.operated",
            Event::OrderTripDelayed { .. } => "order.trip_delayed",
        }
    }

    /// What the event is about: the order, hold or ticket, by kind.
    pub fn subject(&self) -> SubjectId {
        match self {
            Event::OrderReserved { order_id, .. } => SubjectId(order_id.get()),
            Event::HoldExpired { hold_id } => SubjectId(hold_id.get()),
            Event::TicketIssued { ticket_id, .. } => SubjectId(ticket_id.get()),
            Event::RiskDecided { decision_id, .. } | Event::RiskCleared { decision_id } => {
                SubjectId(decision_id.get())
            }
            Event::TripOperated { trip_id, .. } => SubjectId(trip_id.get()),
            Event::OrderTripDelayed { order_id, .. } => SubjectId(order_id.get()),
            Event::OrderPaid(m)
            | Event::OrderAwaitingPayment(m)
            | Event::OrderConfirmed(m)
            | Event::OrderFailed(m)
            | Event::OrderExpired(m)
            | Event::OrderCancelled(m)
            | Event::OrderRefunded(m) => SubjectId(m.order_id.get()),
        }
    }

    /// The order a transition event moved, and to where.
    pub fn order_move(&self) -> Option<(&OrderMove, OrderStatus)> {
        match self {
            Event::OrderPaid(m) => Some((m, OrderStatus::Paid)),
            Event::OrderAwaitingPayment(m) => Some((m, OrderStatus::AwaitingPayment)),
            Event::OrderConfirmed(m) => Some((m, OrderStatus::Confirmed)),
            Event::OrderFailed(m) => Some((m, OrderStatus::Failed)),
            Event::OrderExpired(m) => Some((m, OrderStatus::Expired)),
            Event::OrderCancelled(m) => Some((m, OrderStatus::Cancelled)),
            Event::OrderRefunded(m) => Some((m, OrderStatus::Refunded)),
            _ => None,
        }
    }

    /// The payload as stored: compact JSON, keys sorted (serde_json's map is
    /// ordered by key), the same text on both backends.
    pub fn payload(&self) -> String {
        let value = match self {
            Event::OrderReserved { order_id, amount } => {
                json!({ "order_id": order_id, "amount": amount })
            }
            Event::HoldExpired { hold_id } => json!({ "hold_id": hold_id }),
            Event::TicketIssued {
                ticket_id,
                order_id,
                pnr,
            } => json!({ "ticket_id": ticket_id, "pnr": pnr, "order_id": order_id }),
            Event::RiskDecided {
                decision_id,
                rule,
                outcome,
                subject_kind,
            } => {
                json!({ "decision_id": decision_id, "rule": rule, "outcome": outcome, "subject_kind": subject_kind })
            }
            Event::RiskCleared { decision_id } => json!({ "decision_id": decision_id }),
            Event::TripOperated {
                trip_id,
                action,
                actor,
                detail,
            } => json!({ "trip_id": trip_id, "action": action, "actor": actor, "detail": detail }),
            Event::OrderTripDelayed {
                order_id,
                trip_id,
                minutes,
            } => json!({ "order_id": order_id, "trip_id": trip_id, "minutes": minutes }),
            _ => {
                let (m, to) = self.order_move().expect("every other kind is a transition");
                json!({ "order_id": m.order_id, "from": m.from, "to": to, "failure": m.failure, "refunded": m.refunded })
            }
        };
        value.to_string()
    }

    /// Reads a stored row's kind and payload back into an event.
    pub fn parse(kind: &str, payload: &str) -> Result<Event, EventError> {
        fn read<'a, T: Deserialize<'a>>(kind: &str, payload: &'a str) -> Result<T, EventError> {
            serde_json::from_str(payload).map_err(|e| EventError::BadPayload {
                kind: kind.to_owned(),
                message: e.to_string(),
            })
        }
        #[derive(Deserialize)]
        struct Reserved {
            order_id: OrderId,
            amount: i64,
        }
        #[derive(Deserialize)]
        struct Expired {
            hold_id: HoldId,
        }
        #[derive(Deserialize)]
        struct Issued {
            ticket_id: TicketId,
            order_id: OrderId,
            pnr: String,
        }
        #[derive(Deserialize)]
        struct Decided {
            decision_id: RiskDecisionId,
            rule: String,
            outcome: String,
            subject_kind: String,
        }
        #[derive(Deserialize)]
        struct Cleared {
            decision_id: RiskDecisionId,
        }
        #[derive(Deserialize)]
        struct Operated {
            trip_id: TripId,
            action: String,
            actor: String,
            detail: String,
        }
        #[derive(Deserialize)]
        struct Delayed {
            order_id: OrderId,
            trip_id: TripId,
            minutes: i64,
        }
        Ok(match kind {
            "order.trip_delayed" => {
                let d: Delayed = read(kind, payload)?;
                Event::OrderTripDelayed {
                    order_id: d.order_id,
                    trip_id: d.trip_id,
                    minutes: d.minutes,
                }
            }
            "trip.operated" => {
                let o: Operated = read(kind, payload)?;
                Event::TripOperated {
                    trip_id: o.trip_id,
                    action: o.action,
                    actor: o.actor,
                    detail: o.detail,
                }
            }
            "risk.decided" => {
                let d: Decided = read(kind, payload)?;
                Event::RiskDecided {
                    decision_id: d.decision_id,
                    rule: d.rule,
                    outcome: d.outcome,
                    subject_kind: d.subject_kind,
                }
            }
            "risk.cleared" => Event::RiskCleared {
                decision_id: read::<Cleared>(kind, payload)?.decision_id,
            },
            "order.reserved" => {
                let r: Reserved = read(kind, payload)?;
                Event::OrderReserved {
                    order_id: r.order_id,
                    amount: r.amount,
                }
            }
            "order.paid" => Event::OrderPaid(read(kind, payload)?),
            "order.awaiting_payment" => Event::OrderAwaitingPayment(read(kind, payload)?),
            "order.confirmed" => Event::OrderConfirmed(read(kind, payload)?),
            "order.failed" => Event::OrderFailed(read(kind, payload)?),
            "order.expired" => Event::OrderExpired(read(kind, payload)?),
            "order.cancelled" => Event::OrderCancelled(read(kind, payload)?),
            "order.refunded" => Event::OrderRefunded(read(kind, payload)?),
            "hold.expired" => Event::HoldExpired {
                hold_id: read::<Expired>(kind, payload)?.hold_id,
            },
            "ticket.issued" => {
                let t: Issued = read(kind, payload)?;
                Event::TicketIssued {
                    ticket_id: t.ticket_id,
                    order_id: t.order_id,
                    pnr: t.pnr,
                }
            }
            other => return Err(EventError::UnknownKind(other.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(to: OrderStatus, from: OrderStatus) -> Event {
        Event::order_moved(OrderId(7), from, to, None, None).unwrap()
    }

    /// Each kind's text, as the stores wrote it before this type existed.
    #[test]
    fn each_kind_keeps_its_stored_text() {
        let cases = [
            (
                Event::OrderReserved {
                    order_id: OrderId(7),
                    amount: 1250,
                },
                "order.reserved",
                r#"{"amount":1250,"order_id":7}"#,
            ),
            (
                moved(OrderStatus::Paid, OrderStatus::Reserved),
                "order.paid",
                r#"{"failure":null,"from":"reserved","order_id":7,"refunded":null,"to":"paid"}"#,
            ),
            (
                moved(OrderStatus::Confirmed, OrderStatus::Paid),
                "order.confirmed",
                r#"{"failure":null,"from":"paid","order_id":7,"refunded":null,"to":"confirmed"}"#,
            ),
            (
                Event::order_moved(
                    OrderId(7),
                    OrderStatus::Reserved,
                    OrderStatus::Failed,
                    Some("payment declined".into()),
                    None,
                )
                .unwrap(),
                "order.failed",
                r#"{"failure":"payment declined","from":"reserved","order_id":7,"refunded":null,"to":"failed"}"#,
            ),
            (
                moved(OrderStatus::Expired, OrderStatus::Pending),
                "order.expired",
                r#"{"failure":null,"from":"pending","order_id":7,"refunded":null,"to":"expired"}"#,
            ),
            (
                Event::order_moved(
                    OrderId(7),
                    OrderStatus::Confirmed,
                    OrderStatus::Cancelled,
                    None,
                    Some(0),
                )
                .unwrap(),
                "order.cancelled",
                r#"{"failure":null,"from":"confirmed","order_id":7,"refunded":0,"to":"cancelled"}"#,
            ),
            (
                Event::order_moved(
                    OrderId(7),
                    OrderStatus::Confirmed,
                    OrderStatus::Refunded,
                    None,
                    Some(900),
                )
                .unwrap(),
                "order.refunded",
                r#"{"failure":null,"from":"confirmed","order_id":7,"refunded":900,"to":"refunded"}"#,
            ),
            (
                Event::HoldExpired { hold_id: HoldId(3) },
                "hold.expired",
                r#"{"hold_id":3}"#,
            ),
            (
                Event::TicketIssued {
                    ticket_id: TicketId(11),
                    order_id: OrderId(7),
                    pnr: "BR7K2Q".into(),
                },
                "ticket.issued",
                r#"{"order_id":7,"pnr":"BR7K2Q","ticket_id":11}"#,
            ),
            (
                Event::RiskDecided {
                    decision_id: RiskDecisionId(5),
                    rule: "holds_per_account".into(),
                    outcome: "block".into(),
                    subject_kind: "account".into(),
                },
                "risk.decided",
                r#"{"decision_id":5,"outcome":"block","rule":"holds_per_account","subject_kind":"account"}"#,
            ),
            (
                Event::RiskCleared {
                    decision_id: RiskDecisionId(5),
                },
                "risk.cleared",
                r#"{"decision_id":5}"#,
            ),
            (
                Event::TripOperated {
                    trip_id: TripId(9),
                    action: "cancel".into(),
                    actor: "user 1".into(),
                    detail: "flood".into(),
                },
                "trip.operated",
                r#"{"action":"cancel","actor":"user 1","detail":"flood","trip_id":9}"#,
            ),
            (
                Event::OrderTripDelayed {
                    order_id: OrderId(7),
                    trip_id: TripId(9),
                    minutes: 90,
                },
                "order.trip_delayed",
                r#"{"minutes":90,"order_id":7,"trip_id":9}"#,
            ),
        ];
        for (event, kind, payload) in cases {
            assert_eq!(event.kind(), kind);
            assert_eq!(event.payload(), payload, "{kind}");
            assert_eq!(Event::parse(kind, payload).unwrap(), event, "{kind}");
        }
    }

    #[test]
    fn subjects_follow_the_kind() {
        assert_eq!(
            moved(OrderStatus::Paid, OrderStatus::Reserved).subject(),
            SubjectId(7)
        );
        assert_eq!(
            Event::HoldExpired { hold_id: HoldId(3) }.subject(),
            SubjectId(3)
        );
        let issued = Event::TicketIssued {
            ticket_id: TicketId(11),
            order_id: OrderId(7),
            pnr: "X".into(),
        };
        assert_eq!(issued.subject(), SubjectId(11));
    }

    /// Rows the Postgres functions wrote (spaced JSON, other key order) still parse.
    #[test]
    fn parses_payloads_spelled_another_way() {
        let e = Event::parse(
            "ticket.issued",
            r#"{"ticket_id" : 11, "order_id": 7, "pnr": "AB"}"#,
        )
        .unwrap();
        assert_eq!(
            e,
            Event::TicketIssued {
                ticket_id: TicketId(11),
                order_id: OrderId(7),
                pnr: "AB".into()
            }
        );
    }

    #[test]
    fn refuses_what_is_not_an_event() {
        assert_eq!(
            Event::parse("order.teleported", "{}"),
            Err(EventError::UnknownKind("order.teleported".into()))
        );
        assert!(matches!(
            Event::parse("hold.expired", r#"{"order_id":1}"#),
            Err(EventError::BadPayload { .. })
        ));
        assert_eq!(
            Event::order_moved(
                OrderId(1),
                OrderStatus::Pending,
                OrderStatus::Reserved,
                None,
                None
            ),
            Err(EventError::NotATransition(OrderStatus::Reserved))
        );
    }
}
