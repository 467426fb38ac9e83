//! The full help, over whatever screen is open.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::{Theme, centered};

const HELP: &[&str] = &[
    "Anywhere   F2 search · F3 look up · F4 shift summary · F1 or ? help · Ctrl-C quit",
    "Search     type From/To (code, English or Bangla name); ↑↓ choose a suggestion,",
    "           Tab/Enter accept it; on Date ↑↓ or +/- change the day; Enter searches.",
    "Trains     ↑↓ choose a train, ←→ a class, Enter opens its seat map.",
    "Seat map   arrows move, Space selects/unselects (up to 4), digits jump to a seat",
    "           number, Tab or ] next coach, [ previous, r refresh, Enter holds the",
    "           selection, Esc back. The map updates live as others buy.",
    "Passengers Tab moves; Enter on the mobile field sells for cash; Esc releases.",
    "Ticket     ←→ other tickets, p prints to a text file, c cancels, Enter next sale.",
    "Look up    type a PNR or mobile number, Enter; ↑↓ choose, Enter reprint,",
    "           Del cancels (y to confirm) and shows the refund to hand back.",
    "Marks      ' 12 ' free  '( 12)' held  ' ░░░ ' sold  '[ 12]' selected",
    "           '! 12!' selected but taken by someone else meanwhile.",
];

pub fn draw(frame: &mut Frame, area: Rect, theme: Theme) {
    let popup = centered(area, 84, HELP.len() as u16 + 3);
    frame.render_widget(Clear, popup);
    let mut lines: Vec<Line> = HELP.iter().map(|l| Line::raw(*l)).collect();
    lines.push(Line::styled("Esc or F1 closes this help.", theme.key()));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Help ")),
        popup,
    );
}
