//! A sold order: its tickets with the signed QR drawn in the terminal, and a
//! printable text version for the counter's printer.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::Theme;
use crate::adapters::qr::text as qr_text;
use crate::tui::app::Counter;
use crate::tui::wire::{CounterOrder, Ticket};

fn ticket_lines(t: &Ticket) -> Vec<String> {
    let c = &t.claims;
    vec![
        format!("PNR        {}", t.pnr),
        format!("Train      {} {}", c.train, c.train_name),
        format!("Date       {}", c.date),
        format!("From → To  {} → {}", c.from, c.to),
        format!("Departs    {}", super::search::clock(&c.departs)),
        format!("Seat       {} ({})", c.seat, c.class),
        format!("Passenger  {}", c.passenger),
        format!("Status     {}", t.status),
    ]
}

/// The whole order as plain text: one block per ticket with its QR code.
pub fn printable(order: &CounterOrder) -> String {
    let o = &order.order;
    let mut out = format!(
        "BANGLADESH RAILWAY — counter ticket\nOrder {}  ({}, paid by {})  Tk {}\n",
        o.order_id, o.status, order.paid_by, o.amount
    );
    if let Some(phone) = &order.phone {
        out.push_str(&format!("Mobile {phone}\n"));
    }
    for t in &order.tickets {
        out.push_str("\n----------------------------------------\n");
        for line in ticket_lines(t) {
            out.push_str(&line);
            out.push('\n');
        }
        if let Some(qr) = qr_text(&t.payload) {
            out.push_str(&qr);
            out.push('\n');
        }
        out.push_str(&format!("Signed payload: {}\n", t.payload));
    }
    out
}

pub fn draw(frame: &mut Frame, area: Rect, app: &Counter, _theme: Theme) {
    let Some(order) = &app.ticket else { return };
    let o = &order.order;
    let [details, qr_area] =
        Layout::horizontal([Constraint::Length(44), Constraint::Min(10)]).areas(area);
    let mut lines = vec![
        Line::raw(format!(
            " Order {} · {} · Tk {}",
            o.order_id, o.status, o.amount
        )),
        Line::raw(format!(
            " {} {} → {} · {} · {}",
            o.train, o.from, o.to, o.date, o.class
        )),
    ];
    if let Some(phone) = &order.phone {
        lines.push(Line::raw(format!(
            " Mobile {phone} · paid by {}",
            order.paid_by
        )));
    }
    if o.refunded > 0 {
        lines.push(Line::raw(format!(" Refunded Tk {}", o.refunded)));
    }
    lines.push(Line::raw(""));
    let ticket = order.tickets.get(app.ticket_index);
    match ticket {
        Some(t) => {
            lines.push(Line::raw(format!(
                " Ticket {} of {}",
                app.ticket_index + 1,
                order.tickets.len()
            )));
            lines.extend(
                ticket_lines(t)
                    .into_iter()
                    .map(|l| Line::raw(format!(" {l}"))),
            );
        }
        None => lines.push(Line::raw(" Tickets are being issued…")),
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Ticket ")),
        details,
    );
    let qr = ticket.and_then(|t| qr_text(&t.payload)).unwrap_or_default();
    let (w, h) = (
        qr.lines().map(|l| l.chars().count()).max().unwrap_or(0) as u16,
        qr.lines().count() as u16,
    );
    let body = if w + 2 <= qr_area.width && h + 2 <= qr_area.height {
        Paragraph::new(qr)
    } else {
        Paragraph::new(format!(
            " The QR code needs {}×{} characters: enlarge the terminal, or press p to print it.",
            w + 2,
            h + 2
        ))
        .wrap(ratatui::widgets::Wrap { trim: true })
    };
    frame.render_widget(body.block(Block::bordered().title(" Signed QR ")), qr_area);
}
