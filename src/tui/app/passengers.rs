//! Keys on the passengers form, and the sale itself.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

impl Counter {
    pub(super) fn passenger_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(form) = self.passengers.as_mut() else {
            return vec![];
        };
        if form.selling {
            return vec![];
        }
        let fields = form.field_count();
        let ctrl_s =
            key.code == KeyCode::Char('s') && key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                let hold = form.hold.hold_id;
                self.passengers = None;
                self.screen = Screen::SeatMap;
                self.say(Level::Info, "Sale abandoned; seats released");
                let mut effects = self.effect(Effect::Release { hold });
                if let Some(p) = &self.pick {
                    effects.push(Effect::LoadSeats {
                        trip: p.trip,
                        from: p.from.clone(),
                        to: p.to.clone(),
                    });
                    self.busy += 1;
                }
                return effects;
            }
            KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % fields,
            KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + fields - 1) % fields,
            KeyCode::Enter if form.focus + 1 < fields => form.focus += 1,
            KeyCode::Enter | KeyCode::F(10) => return self.sell(),
            _ if ctrl_s => return self.sell(),
            _ => {
                let focus = form.focus;
                form.field_mut(focus).handle(key);
            }
        }
        vec![]
    }

    pub(super) fn sell(&mut self) -> Vec<Effect> {
        let Some(form) = self.passengers.as_mut() else {
            return vec![];
        };
        if let Some(i) = form
            .travellers
            .iter()
            .position(|t| t.name.value().trim().is_empty())
        {
            form.focus = 2 * i;
            let seat = form.hold.seats[i].clone();
            self.say(
                Level::Warn,
                format!("Type the name of the passenger in {seat}"),
            );
            return vec![];
        }
        if form.phone.value().trim().is_empty() {
            form.focus = form.field_count() - 2;
            self.say(
                Level::Warn,
                "Type the passenger's mobile number (01XXXXXXXXX)",
            );
            return vec![];
        }
        if form.buyer_nid.value().trim().is_empty() {
            form.focus = form.field_count() - 1;
            self.say(
                Level::Warn,
                "Type the buyer's NID (10, 13 or 17 digits): the seat limit is per NID",
            );
            return vec![];
        }
        form.selling = true;
        let e = Effect::Sell {
            hold: form.hold.hold_id,
            passengers: form
                .travellers
                .iter()
                .map(|t| {
                    let nid = t.nid.value().trim();
                    (
                        t.name.value().trim().to_owned(),
                        (!nid.is_empty()).then(|| nid.to_owned()),
                    )
                })
                .collect(),
            phone: form.phone.value().trim().to_owned(),
            buyer_nid: form.buyer_nid.value().trim().to_owned(),
            key: form.key.clone(),
        };
        self.say(Level::Info, "Selling…");
        self.effect(e)
    }
}
