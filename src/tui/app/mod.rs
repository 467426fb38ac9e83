//! The clerk's terminal as a pure state machine: `update` takes a key press or
//! a server reply, changes the state, and returns the effects (HTTP calls) to
//! run. No I/O happens here, so every flow can be driven in tests.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

mod login;
mod orders;
mod passengers;
mod replies;
mod search;
mod seatmap;

pub use search::station_matches;

use crate::domain::trip::SaleState;
use crate::domain::{HoldId, OrderId, Role, SeatClass, TripId};
use crate::tui::client::ClientError;
use crate::tui::input::Input;
use crate::tui::seats::{Grid, Move};
use crate::tui::wire::*;

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
        trip: TripId,
        from: String,
        to: String,
    },
    /// Follow the trip's live stream (replacing any other).
    Watch {
        trip: TripId,
    },
    Unwatch,
    Hold {
        trip: TripId,
        from: String,
        to: String,
        class: SeatClass,
        seats: Vec<String>,
    },
    Release {
        hold: HoldId,
    },
    Sell {
        hold: HoldId,
        /// Name and NID (if given) per seat.
        passengers: Vec<(String, Option<String>)>,
        phone: String,
        /// The buyer's NID: their seats are capped per NID across channels.
        buyer_nid: String,
        key: String,
    },
    Lookup {
        query: String,
    },
    Cancel {
        order: OrderId,
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
        trip: TripId,
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
    pub trip: TripId,
    pub from: String,
    pub to: String,
    pub class: SeatClass,
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
    /// The buyer's NID (required: the seat caps are per NID).
    pub buyer_nid: Input,
    /// Fields in order: name and NID of each traveller, then the phone and
    /// the buyer's NID.
    pub focus: usize,
    /// One key per hold: a retried sale (after a lost answer) is never sold twice.
    pub key: String,
    pub selling: bool,
}

impl PassengerForm {
    pub fn field_count(&self) -> usize {
        2 * self.travellers.len() + 2
    }

    pub fn field_mut(&mut self, i: usize) -> &mut Input {
        match self.travellers.get_mut(i / 2) {
            Some(t) if i % 2 == 0 => &mut t.name,
            Some(t) => &mut t.nid,
            None if i % 2 == 0 => &mut self.phone,
            None => &mut self.buyer_nid,
        }
    }
}

#[derive(Debug, Default)]
pub struct LookupForm {
    pub query: Input,
    pub results: Vec<CounterOrder>,
    pub selected: usize,
    /// An order waiting for the clerk's "y" to cancel.
    pub confirm_cancel: Option<OrderId>,
}

/// One counter terminal's state: the clerk, the screen, and every form on it.
/// (Named apart from `crate::app::App`, the server-side application.)
pub struct Counter {
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

impl Counter {
    /// A fresh terminal for `server`; `today` is the Dhaka date (YYYY-MM-DD)
    /// searches default to the day after.
    pub fn new(server: &str, tomorrow: &str, color: bool, session: &str) -> Counter {
        Counter {
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

    fn seats_changed(&mut self, trip: TripId) -> Vec<Effect> {
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
}
