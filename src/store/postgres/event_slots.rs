//! Events for the booking functions to write, with slots for what only the
//! database knows yet (migration 0009).
//!
//! A new order's id and amount, an expired hold's id and a new ticket's id are
//! assigned inside the one-round-trip functions. The event is still serialised
//! here, by `Event::payload`: it is built with stand-in values, and their text
//! becomes the `format()` slots `%1$s`, `%2$s` the function fills in.

use crate::domain::{Event, HoldId, OrderId, TicketId};

/// Stand-ins no real id or amount takes; equal length, so neither is found inside the other.
const FIRST: i64 = i64::MIN;
const SECOND: i64 = i64::MIN + 1;

/// `event`'s payload as a `format()` string: a literal `%` doubled, and each
/// stand-in in `slots` (in order) replaced by its numbered slot.
fn template(event: &Event, slots: &[i64]) -> String {
    let mut text = event.payload().replace('%', "%%");
    for (n, stand_in) in slots.iter().enumerate() {
        text = text.replace(&stand_in.to_string(), &format!("%{}$s", n + 1));
    }
    text
}

/// `order.reserved`: the order id is `%1$s`, its amount `%2$s`.
pub(super) fn order_reserved() -> String {
    let event = Event::OrderReserved {
        order_id: OrderId(FIRST),
        amount: SECOND,
    };
    template(&event, &[FIRST, SECOND])
}

/// `hold.expired`: the hold id is `%1$s`.
pub(super) fn hold_expired() -> String {
    template(
        &Event::HoldExpired {
            hold_id: HoldId(FIRST),
        },
        &[FIRST],
    )
}

/// `ticket.issued` for one passenger's ticket: the ticket id is `%1$s`.
pub(super) fn ticket_issued(order_id: OrderId, pnr: &str) -> String {
    let event = Event::TicketIssued {
        ticket_id: TicketId(FIRST),
        order_id,
        pnr: pnr.to_owned(),
    };
    template(&event, &[FIRST])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Postgres's format() makes of a template, read left to right as it
    /// does, for `%N$s` and `%%` only.
    fn fill(template: &str, values: &[i64]) -> String {
        let mut out = String::new();
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
            } else if chars.next_if_eq(&'%').is_some() {
                out.push('%');
            } else {
                let n: String = chars.by_ref().take_while(|&c| c != '$').collect();
                assert_eq!(chars.next(), Some('s'), "only %N$s slots are used");
                out.push_str(&values[n.parse::<usize>().unwrap() - 1].to_string());
            }
        }
        out
    }

    #[test]
    fn filled_templates_are_the_events_payloads() {
        assert_eq!(order_reserved(), r#"{"amount":%2$s,"order_id":%1$s}"#);
        assert_eq!(
            fill(&order_reserved(), &[7, 1250]),
            Event::OrderReserved {
                order_id: OrderId(7),
                amount: 1250
            }
            .payload()
        );
        assert_eq!(
            fill(&hold_expired(), &[3]),
            Event::HoldExpired { hold_id: HoldId(3) }.payload()
        );
        let issued = ticket_issued(OrderId(7), "A%1$sB");
        assert_eq!(
            fill(&issued, &[11]),
            Event::TicketIssued {
                ticket_id: TicketId(11),
                order_id: OrderId(7),
                pnr: "A%1$sB".into()
            }
            .payload()
        );
    }
}
