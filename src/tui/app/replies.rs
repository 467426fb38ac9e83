//! What the server answered, and where each answer (or failure) lands.

use super::*;
use crate::domain::TicketStatus;

impl Counter {
    pub(super) fn reply(&mut self, reply: Reply) -> Vec<Effect> {
        match reply {
            Reply::LoggedIn(me) => {
                if !matches!(me.role, Role::Clerk | Role::Admin) {
                    self.say(
                        Level::Error,
                        format!(
                            "{} is a {}: counter sales need a clerk account",
                            me.name, me.role
                        ),
                    );
                    return vec![];
                }
                self.say(
                    Level::Info,
                    format!("Signed in as {} ({})", me.name, me.role),
                );
                self.clerk = Some(me);
                self.login.password.clear();
                self.login.totp.clear();
                self.screen = Screen::Search;
                self.effect(Effect::LoadStations)
            }
            Reply::Stations(list) => {
                self.stations = list;
                vec![]
            }
            Reply::Searched(result) => {
                let n = result.trips.len();
                let text = format!(
                    "{n} train(s) from {} to {} on {}",
                    result.from.name, result.to.name, result.date
                );
                self.say(if n == 0 { Level::Warn } else { Level::Info }, text);
                self.search.results = Some(result);
                self.search.trip = 0;
                self.search.class = 0;
                if n > 0 {
                    self.search.focus = SearchFocus::Results;
                }
                vec![]
            }
            Reply::Seats(map) => {
                // A late answer for another trip or journey is stale: drop it.
                if let Some(pick) = self.pick.as_mut().filter(|p| {
                    p.trip == map.trip_id && p.from == map.from.code && p.to == map.to.code
                }) {
                    pick.map = Some(map);
                }
                let conflicts = self.conflicts();
                if !conflicts.is_empty() {
                    self.say(
                        Level::Error,
                        format!(
                            "{} just taken by someone else: choose another seat",
                            conflicts.join(", ")
                        ),
                    );
                }
                vec![]
            }
            Reply::Held(hold) => {
                let travellers = hold.seats.iter().map(|_| Traveller::default()).collect();
                self.sales += 1;
                self.passengers = Some(PassengerForm {
                    key: format!("tui-{}-{}-{}", self.session, hold.hold_id, self.sales),
                    hold,
                    travellers,
                    phone: Input::default(),
                    buyer_nid: Input::default(),
                    focus: 0,
                    selling: false,
                });
                self.screen = Screen::Passengers;
                self.say(
                    Level::Info,
                    "Seats held: enter the passengers, then Enter to sell",
                );
                vec![]
            }
            Reply::Released => vec![],
            Reply::Sold(order) => {
                let text = format!(
                    "Sold: order {}, take Tk {} cash",
                    order.order.order_id, order.order.amount
                );
                self.say(Level::Info, text);
                self.passengers = None;
                if let Some(p) = self.pick.as_mut() {
                    p.selected.clear();
                }
                self.ticket = Some(order);
                self.ticket_index = 0;
                self.screen = Screen::Ticket;
                vec![]
            }
            Reply::Found(orders) => {
                let text = format!("{} order(s) found", orders.len());
                self.say(
                    if orders.is_empty() {
                        Level::Warn
                    } else {
                        Level::Info
                    },
                    text,
                );
                self.lookup.results = orders;
                self.lookup.selected = 0;
                vec![]
            }
            Reply::Cancelled(c) => {
                let text = if c.cash_refund > 0 {
                    format!(
                        "Order {} cancelled: hand back Tk {} in cash",
                        c.order.order_id, c.cash_refund
                    )
                } else if c.card_refund > 0 {
                    format!(
                        "Order {} cancelled: Tk {} refunded to the card",
                        c.order.order_id, c.card_refund
                    )
                } else {
                    format!(
                        "Order {} cancelled: no refund is due this close to departure",
                        c.order.order_id
                    )
                };
                self.say(Level::Info, text);
                for r in &mut self.lookup.results {
                    if r.order.order_id == c.order.order_id {
                        r.order = c.order.clone();
                        for t in &mut r.tickets {
                            t.status = TicketStatus::Cancelled;
                        }
                    }
                }
                vec![]
            }
            Reply::Shift(shift) => {
                self.shift = Some(shift);
                vec![]
            }
            Reply::Printed(path) => {
                self.say(Level::Info, format!("Ticket text written to {path}"));
                vec![]
            }
            Reply::Failed { what, error } => self.failed(what, error),
        }
    }

    pub(super) fn failed(&mut self, what: Call, error: ClientError) -> Vec<Effect> {
        if let ClientError::Network(e) = &error {
            self.banner = Some(format!("Server unreachable ({e}); retry when it is back"));
            if let Some(form) = self.passengers.as_mut() {
                // The answer was lost: the sale may or may not have gone through.
                // Enter again retries with the same key, which is safe.
                form.selling = false;
                self.say(
                    Level::Error,
                    "No answer from the server: press Enter to retry the sale safely",
                );
                return vec![];
            }
        }
        let problem = error.problem().cloned().unwrap_or_default();
        match what {
            Call::Login if problem.slug() == "mfa-required" => {
                self.login.need_totp = true;
                self.login.focus = 2;
                self.say(Level::Warn, "Two-factor is on: type the 6-digit code");
                return vec![];
            }
            Call::Hold if problem.slug() == "seats-unavailable" => {
                let taken = problem.seats.clone();
                if let Some(pick) = self.pick.as_mut() {
                    pick.selected.retain(|s| !taken.contains(s));
                }
                self.say(
                    Level::Error,
                    format!(
                        "Lost the race: {} just taken by someone else; map refreshed",
                        taken.join(", ")
                    ),
                );
                if let Some(p) = &self.pick {
                    let e = Effect::LoadSeats {
                        trip: p.trip,
                        from: p.from.clone(),
                        to: p.to.clone(),
                    };
                    return self.effect(e);
                }
                return vec![];
            }
            Call::Sell => {
                if let Some(form) = self.passengers.as_mut() {
                    form.selling = false;
                }
            }
            _ => {}
        }
        if !matches!(error, ClientError::Network(_)) {
            self.say(Level::Error, error.to_string());
        }
        vec![]
    }
}
