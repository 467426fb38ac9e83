//! The clerk's shift: tickets sold, cash taken, refunds paid out, and what the
//! drawer should hold.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::Theme;
use crate::tui::app::Counter;

pub fn draw(frame: &mut Frame, area: Rect, app: &Counter, theme: Theme) {
    let lines = match &app.shift {
        None => vec![Line::raw(" Loading…")],
        Some(s) => vec![
            Line::raw(format!(" Since          {}", s.since)),
            Line::raw(""),
            Line::raw(format!(" Orders sold    {}", s.orders)),
            Line::raw(format!(" Tickets        {}", s.tickets)),
            Line::raw(format!(" Cash taken     Tk {}", s.cash_in)),
            Line::raw(format!(
                " Refunds        {} (Tk {} paid out)",
                s.refunds, s.cash_out
            )),
            Line::raw(""),
            Line::styled(format!(" Drawer total   Tk {}", s.net_cash), theme.title()),
        ],
    };
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Shift summary ")),
        area,
    );
}
