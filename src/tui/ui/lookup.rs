//! Look up orders by PNR or phone, to reprint or cancel them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::{Theme, field_line};
use crate::tui::app::Counter;

pub fn draw(frame: &mut Frame, area: Rect, app: &Counter, theme: Theme) {
    let l = &app.lookup;
    let [form, list] = Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
    frame.render_widget(
        Paragraph::new(field_line(
            "PNR/phone",
            l.query.value().to_owned(),
            true,
            theme,
        ))
        .block(Block::bordered().title(" Look up ")),
        form,
    );
    let mut lines = vec![];
    if let Some(order) = l.confirm_cancel {
        lines.push(Line::styled(
            format!(" Cancel order {order} and refund it? y = yes, any other key = no"),
            theme.conflict(),
        ));
    }
    for (i, r) in l.results.iter().enumerate() {
        let o = &r.order;
        let pnrs: Vec<&str> = r.tickets.iter().map(|t| t.pnr.as_str()).collect();
        let seats: Vec<&str> = o.seats.iter().map(|s| s.seat.as_str()).collect();
        let text = format!(
            "{} order {} · {} · {} {} {}→{} · {} · Tk {} · {} · {}",
            if i == l.selected { "▶" } else { " " },
            o.order_id,
            o.status,
            o.train,
            o.date,
            o.from,
            o.to,
            seats.join(" "),
            o.amount,
            r.paid_by,
            pnrs.join(" ")
        );
        let style = if i == l.selected {
            theme.focus()
        } else {
            Style::default()
        };
        lines.push(Line::styled(text, style));
    }
    if l.results.is_empty() && l.confirm_cancel.is_none() {
        lines.push(Line::raw(
            " Type a PNR (e.g. YTCNK8CAQQ) or a mobile number, then Enter.",
        ));
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Orders ")),
        list,
    );
}
