//! Keys on the seat map: moving, selecting, and holding the selection.

use crossterm::event::{KeyCode, KeyEvent};

use super::*;
use crate::domain::SeatCap;

impl Counter {
    /// The coaches of the picked class, in train order.
    pub fn class_coaches(&self) -> Vec<&Coach> {
        match &self.pick {
            Some(SeatPick {
                map: Some(map),
                class,
                ..
            }) => map.coaches.iter().filter(|c| c.class == *class).collect(),
            _ => vec![],
        }
    }

    pub(super) fn seat_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let coaches = self.class_coaches().len();
        let grid = self
            .class_coaches()
            .get(self.pick.as_ref().map_or(0, |p| p.coach))
            .map(|c| Grid::of(c));
        let Some(pick) = self.pick.as_mut() else {
            return vec![];
        };
        match key.code {
            KeyCode::Esc => return self.go_search(),
            KeyCode::Tab | KeyCode::Char(']') if coaches > 0 => {
                pick.coach = (pick.coach + 1) % coaches;
                pick.cursor = 0;
            }
            KeyCode::BackTab | KeyCode::Char('[') if coaches > 0 => {
                pick.coach = (pick.coach + coaches - 1) % coaches;
                pick.cursor = 0;
            }
            KeyCode::Left | KeyCode::Right | KeyCode::Up | KeyCode::Down => {
                if let Some(grid) = grid {
                    let m = match key.code {
                        KeyCode::Left => Move::Left,
                        KeyCode::Right => Move::Right,
                        KeyCode::Up => Move::Up,
                        _ => Move::Down,
                    };
                    pick.cursor = grid.step(pick.cursor, m);
                }
                pick.typed.clear();
            }
            KeyCode::Char(c) if c.is_ascii_digit() => {
                pick.typed.push(c);
                if let Some(i) = grid.and_then(|g| g.index_of_number(&pick.typed)) {
                    pick.cursor = i;
                }
            }
            KeyCode::Backspace => {
                pick.typed.pop();
            }
            KeyCode::Char(' ') => {
                pick.typed.clear();
                return self.toggle_seat();
            }
            KeyCode::Char('r') => {
                let e = Effect::LoadSeats {
                    trip: pick.trip,
                    from: pick.from.clone(),
                    to: pick.to.clone(),
                };
                return self.effect(e);
            }
            KeyCode::Enter => return self.hold_selected(),
            _ => {}
        }
        vec![]
    }

    /// The seat under the cursor.
    pub fn cursor_seat(&self) -> Option<&Seat> {
        let pick = self.pick.as_ref()?;
        self.class_coaches().get(pick.coach)?.seats.get(pick.cursor)
    }

    pub(super) fn toggle_seat(&mut self) -> Vec<Effect> {
        let Some(seat) = self.cursor_seat().cloned() else {
            return vec![];
        };
        let pick = self.pick.as_mut().expect("a seat implies a pick");
        if let Some(i) = pick.selected.iter().position(|s| s == &seat.seat) {
            pick.selected.remove(i);
            self.status = None;
        } else if seat.state() != SeatState::Free {
            let how = if seat.state() == SeatState::Held {
                "held by someone else"
            } else {
                "sold"
            };
            self.say(
                Level::Warn,
                format!("{} is {how} for this journey", seat.seat),
            );
        } else if !SeatCap::PER_PASSENGER.allows_booking_of(pick.selected.len() + 1) {
            let max = SeatCap::PER_PASSENGER.max();
            self.say(Level::Warn, format!("At most {max} seats per sale"));
        } else {
            pick.selected.push(seat.seat);
            self.status = None;
        }
        vec![]
    }

    /// Selected seats that are no longer free (someone else took them).
    pub fn conflicts(&self) -> Vec<String> {
        let Some(pick) = &self.pick else {
            return vec![];
        };
        let Some(map) = &pick.map else { return vec![] };
        pick.selected
            .iter()
            .filter(|label| {
                map.coaches
                    .iter()
                    .flat_map(|c| &c.seats)
                    .find(|s| &&s.seat == label)
                    .is_none_or(|s| s.state() != SeatState::Free)
            })
            .cloned()
            .collect()
    }

    pub(super) fn hold_selected(&mut self) -> Vec<Effect> {
        let conflicts = self.conflicts();
        let Some(pick) = &self.pick else {
            return vec![];
        };
        if pick.selected.is_empty() {
            self.say(
                Level::Warn,
                "Select seats with Space first (or type a seat number)",
            );
            return vec![];
        }
        if !conflicts.is_empty() {
            self.say(
                Level::Error,
                format!(
                    "{} taken meanwhile: unselect it and choose another",
                    conflicts.join(", ")
                ),
            );
            return vec![];
        }
        let e = Effect::Hold {
            trip: pick.trip,
            from: pick.from.clone(),
            to: pick.to.clone(),
            class: pick.class,
            seats: pick.selected.clone(),
        };
        self.say(Level::Info, "Holding seats…");
        self.effect(e)
    }
}
