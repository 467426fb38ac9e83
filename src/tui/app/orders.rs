//! Keys on a sold ticket and on the look-up screen (reprint, cancel).

use crossterm::event::{KeyCode, KeyEvent};

use super::*;
use crate::domain::OrderStatus;

impl Counter {
    pub(super) fn ticket_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(order) = &self.ticket else {
            return vec![];
        };
        let n = order.tickets.len().max(1);
        match key.code {
            KeyCode::Right | KeyCode::Char('n') => self.ticket_index = (self.ticket_index + 1) % n,
            KeyCode::Left | KeyCode::Char('b') => {
                self.ticket_index = (self.ticket_index + n - 1) % n
            }
            KeyCode::Char('p') => {
                let e = Effect::Print {
                    path: self
                        .print_dir
                        .join(format!("ticket-order-{}.txt", order.order.order_id)),
                    text: crate::tui::ui::ticket::printable(order),
                };
                return self.effect(e);
            }
            KeyCode::Char('c') => {
                self.lookup.results = vec![order.clone()];
                self.lookup.selected = 0;
                self.lookup.confirm_cancel = Some(order.order.order_id);
                self.screen = Screen::Lookup;
            }
            KeyCode::Esc | KeyCode::Enter => {
                self.ticket = None;
                if let Some(p) = &self.pick {
                    // Back to the same trip's map, to sell the next seats.
                    self.screen = Screen::SeatMap;
                    let e = Effect::LoadSeats {
                        trip: p.trip,
                        from: p.from.clone(),
                        to: p.to.clone(),
                    };
                    return self.effect(e);
                }
                self.screen = Screen::Lookup;
            }
            _ => {}
        }
        vec![]
    }

    pub(super) fn lookup_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if let Some(order) = self.lookup.confirm_cancel {
            self.lookup.confirm_cancel = None;
            if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                self.say(Level::Info, format!("Cancelling order {order}…"));
                return self.effect(Effect::Cancel { order });
            }
            self.say(Level::Info, "Not cancelled");
            return vec![];
        }
        let n = self.lookup.results.len();
        match key.code {
            KeyCode::Enter if !self.lookup.query.value().trim().is_empty() => {
                let e = Effect::Lookup {
                    query: self.lookup.query.value().trim().to_owned(),
                };
                self.lookup.query.clear();
                return self.effect(e);
            }
            KeyCode::Enter if n > 0 => {
                self.ticket = Some(self.lookup.results[self.lookup.selected].clone());
                self.ticket_index = 0;
                self.screen = Screen::Ticket;
            }
            KeyCode::Down if n > 0 => self.lookup.selected = (self.lookup.selected + 1).min(n - 1),
            KeyCode::Up => self.lookup.selected = self.lookup.selected.saturating_sub(1),
            KeyCode::Delete if n > 0 && self.lookup.query.value().is_empty() => {
                let order = &self.lookup.results[self.lookup.selected];
                if order.order.status == OrderStatus::Confirmed {
                    self.lookup.confirm_cancel = Some(order.order.order_id);
                } else {
                    let text = format!(
                        "Order {} is {}; only confirmed orders can be cancelled",
                        order.order.order_id, order.order.status
                    );
                    self.say(Level::Warn, text);
                }
            }
            KeyCode::Esc => return self.go_search(),
            _ => {
                self.lookup.query.handle(key);
            }
        }
        vec![]
    }
}
