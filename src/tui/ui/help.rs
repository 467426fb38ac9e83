//! The full help, over whatever screen is open.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{Theme, centered};
use crate::domain::SeatCap;

/// The help's lines; the seat map's one names the seat cap (`{cap}`).
const HELP: &[&str] = &[
    "Anywhere   F2 search · F3 look up · F4 shift · F1/? help · Ctrl-C quit",
    "Search     type From/To (code, English or Bangla name); ↑↓ pick a",
    "           suggestion, Tab/Enter take it; on Date ↑↓ or +/- move a day;",
    "           Enter searches. Trains: ↑↓ train, ←→ class, Enter seat map.",
    "Seat map   arrows move, Space selects (up to {cap}), digits jump to a seat,",
    "           Tab/] next coach, [ previous, r refresh, Enter holds, Esc back.",
    "           The map follows what others buy, live.",
    "Passengers Tab moves; Enter on Mobile sells for cash; Esc releases.",
    "Ticket     ←→ other tickets, p prints a text file, c cancels, Enter next.",
    "Look up    PNR or mobile, Enter; ↑↓ choose, Enter reprints, Del cancels",
    "           (y confirms) and shows the refund to hand back.",
    "Marks      '  12 ' free  '( 12)' held  ' ░░░ ' sold  '[ 12]' selected",
    "           '! 12!' selected, but taken by someone else meanwhile.",
];

pub fn draw(frame: &mut Frame, area: Rect, theme: Theme) {
    let popup = centered(area, 78, HELP.len() as u16 + 3);
    frame.render_widget(Clear, popup);
    let cap = SeatCap::PER_PASSENGER.max().to_string();
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|l| Line::raw(l.replace("{cap}", &cap)))
        .collect();
    lines.push(Line::styled("Esc or F1 closes this help.", theme.key()));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Help ")),
        popup,
    );
}
