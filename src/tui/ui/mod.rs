//! Drawing: a pure function of the app state, one module per screen. Works
//! down to 80×24 and without colour (NO_COLOR): every state also has its own
//! text marker, so nothing depends on colour alone.

mod help;
mod login;
mod lookup;
mod passengers;
mod search;
pub mod seatmap;
mod shift;
pub mod ticket;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{Counter, Level, Screen};

/// Styles, with or without colour.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn paint(self, fg: Color, bg: Option<Color>, plain: Modifier) -> Style {
        if self.color {
            let s = Style::default().fg(fg);
            bg.map_or(s, |b| s.bg(b))
        } else {
            Style::default().add_modifier(plain)
        }
    }
    pub fn free(self) -> Style {
        self.paint(Color::Green, None, Modifier::empty())
    }
    pub fn held(self) -> Style {
        self.paint(Color::Yellow, None, Modifier::ITALIC)
    }
    pub fn sold(self) -> Style {
        self.paint(Color::DarkGray, None, Modifier::DIM)
    }
    pub fn selected(self) -> Style {
        self.paint(Color::Black, Some(Color::Cyan), Modifier::BOLD)
    }
    pub fn conflict(self) -> Style {
        self.paint(Color::White, Some(Color::Red), Modifier::BOLD)
    }
    pub fn title(self) -> Style {
        self.paint(Color::Cyan, None, Modifier::BOLD)
            .add_modifier(Modifier::BOLD)
    }
    pub fn key(self) -> Style {
        self.paint(Color::Yellow, None, Modifier::BOLD)
    }
    pub fn level(self, level: Level) -> Style {
        match level {
            Level::Info => self.paint(Color::Green, None, Modifier::empty()),
            Level::Warn => self.paint(Color::Yellow, None, Modifier::BOLD),
            Level::Error => self.paint(Color::LightRed, None, Modifier::BOLD),
        }
    }
    pub fn focus(self) -> Style {
        self.paint(Color::Yellow, None, Modifier::BOLD)
            .add_modifier(Modifier::BOLD)
    }
}

pub fn draw(frame: &mut Frame, app: &Counter) {
    let theme = Theme { color: app.color };
    let banner = app.banner.is_some() as u16;
    let [title, banner_area, body, status, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner),
        Constraint::Min(5),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    let who = app.clerk.as_ref().map_or("not signed in".to_owned(), |c| {
        format!("{} ({})", c.name, c.role)
    });
    let busy = if app.busy > 0 { " ⋯" } else { "" };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" ticketctl counter ", theme.title()),
            Span::raw(format!("· {who} · {}{busy}", app.server)),
        ])),
        title,
    );
    if let Some(text) = &app.banner {
        frame.render_widget(
            Paragraph::new(format!(" ⚠ {text}")).style(theme.level(Level::Error)),
            banner_area,
        );
    }
    match app.screen {
        Screen::Login => login::draw(frame, body, app, theme),
        Screen::Search => search::draw(frame, body, app, theme),
        Screen::SeatMap => seatmap::draw(frame, body, app, theme),
        Screen::Passengers => passengers::draw(frame, body, app, theme),
        Screen::Ticket => ticket::draw(frame, body, app, theme),
        Screen::Lookup => lookup::draw(frame, body, app, theme),
        Screen::Shift => shift::draw(frame, body, app, theme),
    }
    if let Some((level, text)) = &app.status {
        frame.render_widget(
            Paragraph::new(format!(" {text}")).style(theme.level(*level)),
            status,
        );
    }
    frame.render_widget(Paragraph::new(key_bar(app, theme)), keys);
    if app.help {
        help::draw(frame, frame.area(), theme);
    }
}

/// The keys that matter on this screen.
fn key_bar(app: &Counter, theme: Theme) -> Line<'static> {
    let pairs: &[(&str, &str)] = match app.screen {
        Screen::Login => &[("Tab", "next"), ("Enter", "sign in"), ("Ctrl-C", "quit")],
        Screen::Search => &[
            ("Tab", "next/complete"),
            ("Enter", "search/open"),
            ("←→", "class"),
            ("F3", "lookup"),
            ("F4", "shift"),
            ("F1", "help"),
        ],
        Screen::SeatMap => &[
            ("arrows", "move"),
            ("Space", "select"),
            ("0-9", "seat"),
            ("Tab", "coach"),
            ("Enter", "hold"),
            ("Esc", "back"),
            ("?", "help"),
        ],
        Screen::Passengers => &[
            ("Tab", "next"),
            ("Enter", "sell (cash)"),
            ("Esc", "release"),
        ],
        Screen::Ticket => &[
            ("←→", "ticket"),
            ("p", "print"),
            ("c", "cancel"),
            ("Enter", "next sale"),
        ],
        Screen::Lookup => &[
            ("Enter", "find/open"),
            ("↑↓", "choose"),
            ("Del", "cancel order"),
            ("Esc", "back"),
        ],
        Screen::Shift => &[("r", "refresh"), ("F2", "search"), ("Esc", "back")],
    };
    let mut spans = vec![Span::raw(" ")];
    for (k, what) in pairs {
        spans.push(Span::styled((*k).to_owned(), theme.key()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    Line::from(spans)
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// A labelled text field line: "  Label: value".
pub fn field_line(label: &str, value: String, focused: bool, theme: Theme) -> Line<'static> {
    let marker = if focused { "▶ " } else { "  " };
    let style = if focused {
        theme.focus()
    } else {
        Style::default()
    };
    Line::from(vec![
        Span::styled(format!("{marker}{label:<10}"), style),
        Span::raw(format!("{value}{}", if focused { "▏" } else { "" })),
    ])
}
