//! The clerk's terminal as a pure state machine: `update` takes a key press or
//! a server reply, changes the state, and returns the effects (HTTP calls) to
//! run. No I/O happens here, so every flow can be driven in tests.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::client::ClientError;
use super::input::Input;
use super::seats::{Grid, Move};
use super::wire::*;

/// Seats one counter sale may hold (Bangladesh Railway: 4 per passenger).
pub const MAX_SEATS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Login,
    Search,
    SeatMap,
    Passengers,
    Ticket,
    Lookup,
    Shift,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// Work for the driver: each effect is one call to the server (or the printer).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Login {
        login: String,
        password: String,
        totp: Option<String>,
    },
    LoadStations,
    Search {
        from: String,
        to: String,
        date: String,
    },
    LoadSeats {
        trip: i64,
        from: String,
        to: String,
    },
    /// Follow the trip's live stream (replacing any other).
    Watch {
        trip: i64,
    },
    Unwatch,
    Hold {
        trip: i64,
        from: String,
        to: String,
        class: String,
        seats: Vec<String>,
    },
    Release {
        hold: i64,
    },
    Sell {
        hold: i64,
        /// Name and NID (if given) per seat.
        passengers: Vec<(String, Option<String>)>,
        phone: String,
        key: String,
    },
    Lookup {
        query: String,
    },
    Cancel {
        order: i64,
    },
    LoadShift,
    /// Write the printable text of an order's tickets to `path`.
    Print {
        path: std::path::PathBuf,
        text: String,
    },
    Quit,
}

/// What comes back into `update`.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// Boxed: replies are large, keys are small and frequent.
    Reply(Box<Reply>),
    /// The watched trip's seats changed on the server.
    SeatsChanged {
        trip: i64,
    },
    /// The live stream to the server broke (false) or came back (true).
    Connection(bool),
    /// The terminal changed size: only a redraw.
    Resize,
}

#[derive(Debug)]
pub enum Reply {
    LoggedIn(Me),
    Stations(Vec<Station>),
    Searched(SearchResult),
    Seats(SeatMap),
    Held(Hold),
    Released,
    Sold(CounterOrder),
    Found(Vec<CounterOrder>),
    Cancelled(Cancelled),
    Shift(Shift),
    Printed(String),
    Failed { what: Call, error: ClientError },
}

/// Which call failed, so the failure lands on the right screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Login,
    Stations,
    Search,
    Seats,
    Hold,
    Release,
    Sell,
    Lookup,
    Cancel,
    Shift,
    Print,
}

#[derive(Debug, Default)]
pub struct LoginForm {
    pub login: Input,
    pub password: Input,
    pub totp: Input,
    pub need_totp: bool,
    pub focus: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchFocus {
    From,
    To,
    Date,
    Results,
}

#[derive(Debug)]
pub struct SearchForm {
    pub from: Input,
    pub to: Input,
    pub date: Input,
    pub focus: SearchFocus,
    /// Highlighted station suggestion for the focused field.
    pub suggestion: usize,
    pub results: Option<SearchResult>,
    pub trip: usize,
    pub class: usize,
}

/// The seat map of one trip for one journey and class.
#[derive(Debug)]
pub struct SeatPick {
    pub trip: i64,
    pub from: String,
    pub to: String,
    pub class: String,
    pub fare: i64,
    pub map: Option<SeatMap>,
    pub coach: usize,
    pub cursor: usize,
    pub selected: Vec<String>,
    /// Typed seat number, to jump to.
    pub typed: String,
}

/// One traveller of a sale: name, and the NID when the passenger gives it.
#[derive(Debug, Default)]
pub struct Traveller {
    pub name: Input,
    pub nid: Input,
}

#[derive(Debug)]
pub struct PassengerForm {
    pub hold: Hold,
    /// One per held seat, in seat order.
    pub travellers: Vec<Traveller>,
    pub phone: Input,
    /// Fields in order: name and NID of each traveller, then the phone.
    pub focus: usize,
    /// One key per hold: a retried sale (after a lost answer) is never sold twice.
    pub key: String,
    pub selling: bool,
}

impl PassengerForm {
    pub fn field_count(&self) -> usize {
        2 * self.travellers.len() + 1
    }

    pub fn field_mut(&mut self, i: usize) -> &mut Input {
        match self.travellers.get_mut(i / 2) {
            Some(t) if i % 2 == 0 => &mut t.name,
            Some(t) => &mut t.nid,
            None => &mut self.phone,
        }
    }
}

#[derive(Debug, Default)]
pub struct LookupForm {
    pub query: Input,
    pub results: Vec<CounterOrder>,
    pub selected: usize,
    /// An order waiting for the clerk's "y" to cancel.
    pub confirm_cancel: Option<i64>,
}

pub struct App {
    pub screen: Screen,
    pub server: String,
    pub clerk: Option<Me>,
    pub stations: Vec<Station>,
    pub login: LoginForm,
    pub search: SearchForm,
    pub pick: Option<SeatPick>,
    pub passengers: Option<PassengerForm>,
    pub ticket: Option<CounterOrder>,
    pub ticket_index: usize,
    pub lookup: LookupForm,
    pub shift: Option<Shift>,
    pub help: bool,
    pub status: Option<(Level, String)>,
    /// Shown while the server is unreachable.
    pub banner: Option<String>,
    /// Calls under way (a spinner in the title).
    pub busy: usize,
    pub color: bool,
    /// Where `p` writes printable tickets.
    pub print_dir: std::path::PathBuf,
    /// Seeds Idempotency-Keys, unique per terminal session.
    session: String,
    sales: u64,
}

impl App {
    /// A fresh terminal for `server`; `today` is the Dhaka date (YYYY-MM-DD)
    /// searches default to the day after.
    pub fn new(server: &str, tomorrow: &str, color: bool, session: &str) -> App {
        App {
            screen: Screen::Login,
            server: server.to_owned(),
            clerk: None,
            stations: vec![],
            login: LoginForm::default(),
            search: SearchForm {
                from: Input::default(),
                to: Input::default(),
                date: Input::with(tomorrow),
                focus: SearchFocus::From,
                suggestion: 0,
                results: None,
                trip: 0,
                class: 0,
            },
            pick: None,
            passengers: None,
            ticket: None,
            ticket_index: 0,
            lookup: LookupForm::default(),
            shift: None,
            help: false,
            status: None,
            banner: None,
            busy: 0,
            color,
            print_dir: ".".into(),
            session: session.to_owned(),
            sales: 0,
        }
    }

    fn say(&mut self, level: Level, text: impl Into<String>) {
        self.status = Some((level, text.into()));
    }

    /// True when keys go into a text field (so letters are text, not commands).
    pub fn typing(&self) -> bool {
        match self.screen {
            Screen::Login | Screen::Passengers | Screen::Lookup => true,
            Screen::Search => self.search.focus != SearchFocus::Results,
            _ => false,
        }
    }

    fn effect(&mut self, e: Effect) -> Vec<Effect> {
        if !matches!(e, Effect::Watch { .. } | Effect::Unwatch | Effect::Quit) {
            self.busy += 1;
        }
        vec![e]
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => self.key(key),
            Msg::Reply(reply) => {
                self.busy = self.busy.saturating_sub(1);
                self.reply(*reply)
            }
            Msg::SeatsChanged { trip } => self.seats_changed(trip),
            Msg::Connection(up) => self.connection(up),
            Msg::Resize => vec![],
        }
    }

    fn connection(&mut self, up: bool) -> Vec<Effect> {
        if up {
            let was_down = self.banner.take().is_some();
            // Back online: what we show may be stale, so read it again.
            match (&self.pick, was_down) {
                (Some(p), true) if self.screen == Screen::SeatMap => {
                    let e = Effect::LoadSeats {
                        trip: p.trip,
                        from: p.from.clone(),
                        to: p.to.clone(),
                    };
                    self.effect(e)
                }
                _ => vec![],
            }
        } else {
            self.banner = Some(
                "Server unreachable: reconnecting… (nothing is sold until the server confirms)"
                    .into(),
            );
            vec![]
        }
    }

    fn seats_changed(&mut self, trip: i64) -> Vec<Effect> {
        self.banner = None;
        match &self.pick {
            Some(p) if p.trip == trip && matches!(self.screen, Screen::SeatMap) => {
                let e = Effect::LoadSeats {
                    trip,
                    from: p.from.clone(),
                    to: p.to.clone(),
                };
                self.effect(e)
            }
            _ => vec![],
        }
    }

    // ---- keys ----

    fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('q')) {
            return self.quit();
        }
        if key.code == KeyCode::F(1) || (key.code == KeyCode::Char('?') && !self.typing()) {
            self.help = !self.help;
            return vec![];
        }
        if self.help {
            if key.code == KeyCode::Esc {
                self.help = false;
            }
            return vec![];
        }
        if self.clerk.is_some() {
            match key.code {
                KeyCode::F(2) => return self.go_search(),
                KeyCode::F(3) => {
                    let effects = self.leave_seat_map();
                    self.screen = Screen::Lookup;
                    return effects;
                }
                KeyCode::F(4) => {
                    let mut effects = self.leave_seat_map();
                    self.screen = Screen::Shift;
                    effects.extend(self.effect(Effect::LoadShift));
                    return effects;
                }
                _ => {}
            }
        }
        if key.code == KeyCode::Char('q') && !self.typing() && self.screen != Screen::Passengers {
            return self.quit();
        }
        match self.screen {
            Screen::Login => self.login_key(key),
            Screen::Search => self.search_key(key),
            Screen::SeatMap => self.seat_key(key),
            Screen::Passengers => self.passenger_key(key),
            Screen::Ticket => self.ticket_key(key),
            Screen::Lookup => self.lookup_key(key),
            Screen::Shift => match key.code {
                KeyCode::Char('r') => self.effect(Effect::LoadShift),
                KeyCode::Esc => self.go_search(),
                _ => vec![],
            },
        }
    }

    fn quit(&mut self) -> Vec<Effect> {
        let mut effects = vec![];
        if let Some(form) = self.passengers.take() {
            // Leave no seats blocked behind us.
            effects.push(Effect::Release {
                hold: form.hold.hold_id,
            });
        }
        effects.push(Effect::Quit);
        effects
    }

    fn leave_seat_map(&mut self) -> Vec<Effect> {
        let mut effects = vec![];
        if let Some(form) = self.passengers.take() {
            effects.extend(self.effect(Effect::Release {
                hold: form.hold.hold_id,
            }));
        }
        if self.pick.is_some() {
            effects.push(Effect::Unwatch);
        }
        effects
    }

    fn go_search(&mut self) -> Vec<Effect> {
        let effects = self.leave_seat_map();
        self.screen = Screen::Search;
        effects
    }

    fn login_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let fields = if self.login.need_totp { 3 } else { 2 };
        match key.code {
            KeyCode::Tab | KeyCode::Down => self.login.focus = (self.login.focus + 1) % fields,
            KeyCode::BackTab | KeyCode::Up => {
                self.login.focus = (self.login.focus + fields - 1) % fields
            }
            KeyCode::Enter => {
                if self.login.focus + 1 < fields
                    && self.login_field(self.login.focus).value().is_empty()
                {
                    return vec![];
                }
                if self.login.focus + 1 < fields
                    && self.login_field(self.login.focus + 1).value().is_empty()
                {
                    self.login.focus += 1;
                    return vec![];
                }
                let e = Effect::Login {
                    login: self.login.login.value().trim().to_owned(),
                    password: self.login.password.value().to_owned(),
                    totp: self
                        .login
                        .need_totp
                        .then(|| self.login.totp.value().trim().to_owned()),
                };
                self.say(Level::Info, "Signing in…");
                return self.effect(e);
            }
            _ => {
                let focus = self.login.focus;
                self.login_field_mut(focus).handle(key);
            }
        }
        vec![]
    }

    fn login_field(&self, i: usize) -> &Input {
        match i {
            0 => &self.login.login,
            1 => &self.login.password,
            _ => &self.login.totp,
        }
    }

    fn login_field_mut(&mut self, i: usize) -> &mut Input {
        match i {
            0 => &mut self.login.login,
            1 => &mut self.login.password,
            _ => &mut self.login.totp,
        }
    }

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

    fn search_key(&mut self, key: KeyEvent) -> Vec<Effect> {
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

    fn accept_suggestion(&mut self) {
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

    fn shift_date(&mut self, days: i64) {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(self.search.date.value(), "%Y-%m-%d") {
            let d = d + chrono::Duration::days(days);
            self.search.date.set(&d.format("%Y-%m-%d").to_string());
        }
    }

    fn run_search(&mut self) -> Vec<Effect> {
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

    fn results_key(&mut self, key: KeyEvent) -> Vec<Effect> {
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

    fn open_seat_map(&mut self) -> Vec<Effect> {
        let Some(results) = &self.search.results else {
            return vec![];
        };
        let Some(trip) = results.trips.get(self.search.trip) else {
            return vec![];
        };
        let Some(offer) = trip.classes.get(self.search.class) else {
            return vec![];
        };
        if trip.sale.state != "open" {
            let text = format!(
                "Sale for train {} is {}",
                trip.train.number,
                trip.sale.state.replace('_', " ")
            );
            self.say(Level::Warn, text);
            return vec![];
        }
        let pick = SeatPick {
            trip: trip.trip_id,
            from: results.from.code.clone(),
            to: results.to.code.clone(),
            class: offer.class.clone(),
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

    /// The coaches of the picked class, in train order.
    pub fn class_coaches(&self) -> Vec<&Coach> {
        match &self.pick {
            Some(SeatPick {
                map: Some(map),
                class,
                ..
            }) => map.coaches.iter().filter(|c| &c.class == class).collect(),
            _ => vec![],
        }
    }

    fn seat_key(&mut self, key: KeyEvent) -> Vec<Effect> {
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

    fn toggle_seat(&mut self) -> Vec<Effect> {
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
        } else if pick.selected.len() >= MAX_SEATS {
            self.say(Level::Warn, format!("At most {MAX_SEATS} seats per sale"));
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

    fn hold_selected(&mut self) -> Vec<Effect> {
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
            class: pick.class.clone(),
            seats: pick.selected.clone(),
        };
        self.say(Level::Info, "Holding seats…");
        self.effect(e)
    }

    fn passenger_key(&mut self, key: KeyEvent) -> Vec<Effect> {
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

    fn sell(&mut self) -> Vec<Effect> {
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
            form.focus = form.field_count() - 1;
            self.say(
                Level::Warn,
                "Type the passenger's mobile number (01XXXXXXXXX)",
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
            key: form.key.clone(),
        };
        self.say(Level::Info, "Selling…");
        self.effect(e)
    }

    fn ticket_key(&mut self, key: KeyEvent) -> Vec<Effect> {
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
                    text: super::ui::ticket::printable(order),
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

    fn lookup_key(&mut self, key: KeyEvent) -> Vec<Effect> {
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
                if order.order.status == "confirmed" {
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

    // ---- replies ----

    fn reply(&mut self, reply: Reply) -> Vec<Effect> {
        match reply {
            Reply::LoggedIn(me) => {
                if me.role != "clerk" && me.role != "admin" {
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
                if let Some(pick) = self.pick.as_mut().filter(|p| p.trip == map.trip_id) {
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
                            t.status = "cancelled".into();
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

    fn failed(&mut self, what: Call, error: ClientError) -> Vec<Effect> {
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
