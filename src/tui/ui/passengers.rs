//! Passenger names (and NIDs, if given) for the held seats, and the buyer's
//! mobile number and NID (the seat caps are per buyer NID).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::{Theme, field_line};
use crate::tui::app::Counter;

pub fn draw(frame: &mut Frame, area: Rect, app: &Counter, theme: Theme) {
    let Some(form) = &app.passengers else { return };
    let hold = &form.hold;
    let mut lines = vec![
        Line::raw(format!(
            " Held {} until {} · Tk {} × {} = Tk {} (cash)",
            hold.seats.join(", "),
            super::search::clock(&hold.expires_at),
            hold.fare_per_seat,
            hold.seats.len(),
            hold.total
        )),
        Line::raw(""),
    ];
    for (i, (seat, t)) in hold.seats.iter().zip(&form.travellers).enumerate() {
        lines.push(field_line(
            seat,
            t.name.value().to_owned(),
            form.focus == 2 * i,
            theme,
        ));
        lines.push(field_line(
            "  NID",
            t.nid.value().to_owned(),
            form.focus == 2 * i + 1,
            theme,
        ));
    }
    lines.push(field_line(
        "Mobile",
        form.phone.value().to_owned(),
        form.focus == form.field_count() - 2,
        theme,
    ));
    lines.push(field_line(
        "Buyer NID",
        form.buyer_nid.value().to_owned(),
        form.focus == form.field_count() - 1,
        theme,
    ));
    lines.push(Line::raw(""));
    lines.push(Line::raw(if form.selling {
        " Selling…"
    } else {
        " Passenger NIDs are optional; the buyer's is required (10, 13 or 17 digits). \
         Take the cash, then Enter on Buyer NID sells."
    }));
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Passengers ")),
        area,
    );
}
