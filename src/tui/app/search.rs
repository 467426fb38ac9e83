//! Keys on the search screen: station completion, the date, and the trains found.

use crossterm::event::{KeyCode, KeyEvent};

use super::*;

impl Counter {
    /// Stations matching what was typed in the focused field: codes first,
    /// then names that start with it, then names that contain it.
    pub fn suggestions(&self) -> Vec<&Station> {
        let typed = match self.search.focus {
            SearchFocus::From => self.search.from.value(),
            SearchFocus::To => self.search.to.value(),
            _ => return vec![],
        };
        station_matches(&self.stations, typed)
    }

    pub(super) fn search_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        use SearchFocus::*;
        let focus = self.search.focus;
        if focus == Results {
            return self.results_key(key);
        }
        let suggestions = self.suggestions().len();
        match key.code {
            KeyCode::Down if suggestions > 0 => {
                self.search.suggestion = (self.search.suggestion + 1) % suggestions
            }
            KeyCode::Up if suggestions > 0 => {
                self.search.suggestion = (self.search.suggestion + suggestions - 1) % suggestions
            }
            KeyCode::Up | KeyCode::Char('-') if focus == Date => self.shift_date(-1),
            KeyCode::Down | KeyCode::Char('+') if focus == Date => self.shift_date(1),
            KeyCode::Tab | KeyCode::Enter if matches!(focus, From | To) => {
                self.accept_suggestion();
                self.search.focus = if focus == From { To } else { Date };
                self.search.suggestion = 0;
            }
            KeyCode::Tab => {
                self.search.focus = if self.search.results.is_some() {
                    Results
                } else {
                    From
                };
            }
            KeyCode::BackTab => {
                self.search.focus = match focus {
                    From => Date,
                    To => From,
                    _ => To,
                };
                self.search.suggestion = 0;
            }
            KeyCode::Enter => return self.run_search(),
            _ => {
                let field = match focus {
                    From => &mut self.search.from,
                    To => &mut self.search.to,
                    _ => &mut self.search.date,
                };
                if field.handle(key) {
                    self.search.suggestion = 0;
                }
            }
        }
        vec![]
    }

    pub(super) fn accept_suggestion(&mut self) {
        let chosen = self
            .suggestions()
            .get(self.search.suggestion)
            .map(|s| s.name.clone());
        if let Some(name) = chosen {
            match self.search.focus {
                SearchFocus::From => self.search.from.set(&name),
                _ => self.search.to.set(&name),
            }
        }
    }

    pub(super) fn shift_date(&mut self, days: i64) {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(self.search.date.value(), "%Y-%m-%d") {
            let d = d + chrono::Duration::days(days);
            self.search.date.set(&d.format("%Y-%m-%d").to_string());
        }
    }

    pub(super) fn run_search(&mut self) -> Vec<Effect> {
        let (from, to) = (
            self.search.from.value().trim(),
            self.search.to.value().trim(),
        );
        if from.is_empty() || to.is_empty() {
            self.say(Level::Warn, "Type the From and To stations first");
            return vec![];
        }
        let e = Effect::Search {
            from: from.to_owned(),
            to: to.to_owned(),
            date: self.search.date.value().trim().to_owned(),
        };
        self.say(Level::Info, "Searching…");
        self.effect(e)
    }

    pub(super) fn results_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(results) = &self.search.results else {
            return vec![];
        };
        let trips = results.trips.len();
        let classes = results
            .trips
            .get(self.search.trip)
            .map_or(0, |t| t.classes.len());
        match key.code {
            KeyCode::Down | KeyCode::Char('j') if trips > 0 => {
                self.search.trip = (self.search.trip + 1).min(trips - 1);
                self.search.class = 0;
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.search.trip = self.search.trip.saturating_sub(1);
                self.search.class = 0;
            }
            KeyCode::Right | KeyCode::Char('l') if classes > 0 => {
                self.search.class = (self.search.class + 1).min(classes - 1)
            }
            KeyCode::Left | KeyCode::Char('h') => {
                self.search.class = self.search.class.saturating_sub(1)
            }
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Esc => self.search.focus = SearchFocus::From,
            KeyCode::Enter => return self.open_seat_map(),
            _ => {}
        }
        vec![]
    }

    pub(super) fn open_seat_map(&mut self) -> Vec<Effect> {
        let Some(results) = &self.search.results else {
            return vec![];
        };
        let Some(trip) = results.trips.get(self.search.trip) else {
            return vec![];
        };
        let Some(offer) = trip.classes.get(self.search.class) else {
            return vec![];
        };
        if trip.sale.state != SaleState::Open {
            let text = format!(
                "Sale for train {} is {}",
                trip.train.number,
                trip.sale.state.as_str().replace('_', " ")
            );
            self.say(Level::Warn, text);
            return vec![];
        }
        let pick = SeatPick {
            trip: trip.trip_id,
            from: results.from.code.clone(),
            to: results.to.code.clone(),
            class: offer.class,
            fare: offer.total,
            map: None,
            coach: 0,
            cursor: 0,
            selected: vec![],
            typed: String::new(),
        };
        let effects = vec![
            Effect::LoadSeats {
                trip: pick.trip,
                from: pick.from.clone(),
                to: pick.to.clone(),
            },
            Effect::Watch { trip: pick.trip },
        ];
        self.pick = Some(pick);
        self.screen = Screen::SeatMap;
        self.status = None;
        self.busy += 1;
        effects
    }
}

/// Stations answering to `typed`: exact code or name first, then names
/// (English or Bangla) starting with it, then names containing it; at most 6.
pub fn station_matches<'a>(stations: &'a [Station], typed: &str) -> Vec<&'a Station> {
    let t = typed.trim().to_lowercase();
    if t.is_empty() {
        return vec![];
    }
    let names = |s: &Station| -> Vec<String> {
        let mut n = vec![s.name.to_lowercase()];
        n.extend(s.name_bn.clone());
        n
    };
    let rank = |s: &Station| -> Option<u8> {
        let names = names(s);
        if s.code.to_lowercase() == t || names.contains(&t) {
            Some(0)
        } else if names.iter().any(|n| n.starts_with(&t)) {
            Some(1)
        } else if names.iter().any(|n| n.contains(&t)) {
            Some(2)
        } else {
            None
        }
    };
    let mut out: Vec<(u8, &Station)> = stations
        .iter()
        .filter_map(|s| rank(s).map(|r| (r, s)))
        .collect();
    // Stable: equal ranks keep the server's order.
    out.sort_by_key(|(r, _)| *r);
    out.into_iter().take(6).map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(code: &str, name: &str, bn: &str) -> Station {
        Station {
            code: code.into(),
            name: name.into(),
            name_bn: Some(bn.into()),
        }
    }

    #[test]
    fn exact_names_and_codes_come_first() {
        let all = [
            st("DHC", "Dhaka Cantonment", "ঢাকা ক্যান্টনমেন্ট"),
            st("DHK", "Dhaka", "ঢাকা"),
            st("NDH", "New Dhaka Road", "নতুন ঢাকা"),
        ];
        let codes = |t: &str| -> Vec<String> {
            station_matches(&all, t)
                .iter()
                .map(|s| s.code.clone())
                .collect()
        };
        assert_eq!(codes("dhaka"), ["DHK", "DHC", "NDH"]);
        assert_eq!(codes("DHC"), ["DHC"]);
        assert_eq!(codes("ঢাকা"), ["DHK", "DHC", "NDH"]);
        assert_eq!(codes("cant"), ["DHC"]);
        assert!(codes(" ").is_empty());
    }
}
