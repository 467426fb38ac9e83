//! Trip search: from, to (with completion over station names), date, and the
//! trains found with their times, fares and free seats per class.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use super::{Theme, field_line};
use crate::domain::trip::SaleState;
use crate::tui::app::{Counter, SearchFocus};

/// "2026-11-26T16:30:00+06:00" → "16:30".
pub fn clock(rfc3339: &str) -> &str {
    rfc3339.get(11..16).unwrap_or(rfc3339)
}

pub fn draw(frame: &mut Frame, area: Rect, app: &Counter, theme: Theme) {
    let s = &app.search;
    let suggestions = app.suggestions();
    let form_height = 5 + suggestions.len().min(6) as u16;
    let [form, results] =
        Layout::vertical([Constraint::Length(form_height), Constraint::Min(3)]).areas(area);

    let mut lines = vec![field_line(
        "From",
        s.from.value().to_owned(),
        s.focus == SearchFocus::From,
        theme,
    )];
    let list = |lines: &mut Vec<Line<'static>>| {
        for (i, st) in suggestions.iter().enumerate() {
            // English only: terminals disagree on the width of Bangla clusters,
            // which leaves stray glyphs behind (typing Bangla still matches).
            let text = format!("      {} {}", st.code, st.name);
            let style = if i == s.suggestion {
                theme.focus().add_modifier(Modifier::REVERSED)
            } else {
                Style::default()
            };
            lines.push(Line::styled(text, style));
        }
    };
    if s.focus == SearchFocus::From {
        list(&mut lines);
    }
    lines.push(field_line(
        "To",
        s.to.value().to_owned(),
        s.focus == SearchFocus::To,
        theme,
    ));
    if s.focus == SearchFocus::To {
        list(&mut lines);
    }
    lines.push(field_line(
        "Date",
        format!("{}  (↑↓ or +/- a day)", s.date.value()),
        s.focus == SearchFocus::Date,
        theme,
    ));
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Search trips ")),
        form,
    );

    let Some(found) = &s.results else {
        frame.render_widget(
            Paragraph::new(
                " Type stations by code, English or Bangla name; Enter on Date searches.",
            )
            .block(Block::bordered().title(" Trains ")),
            results,
        );
        return;
    };
    let rows: Vec<Row> = found
        .trips
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let chosen = i == s.trip && s.focus == SearchFocus::Results;
            let mut classes = vec![];
            // On the chosen row, classes left of the selection scroll away so
            // the selected one stays on screen in a narrow terminal.
            let skip = if chosen { s.class.saturating_sub(1) } else { 0 };
            if skip > 0 {
                classes.push(Span::raw("… "));
            }
            for (j, c) in t.classes.iter().enumerate().skip(skip) {
                let text = format!("{} {}({})", c.class, c.total, c.seats_free);
                let style = if chosen && j == s.class {
                    theme.selected().add_modifier(Modifier::REVERSED)
                } else if c.seats_free == 0 {
                    theme.sold()
                } else {
                    Style::default()
                };
                classes.push(Span::styled(text, style));
                classes.push(Span::raw(" "));
            }
            let sale = if t.sale.state == SaleState::Open {
                String::new()
            } else {
                format!(" [{}]", t.sale.state.as_str())
            };
            let marker = if chosen { "▶" } else { " " };
            Row::new(vec![
                Cell::from(format!("{marker}{} {}{sale}", t.train.number, t.train.name)),
                Cell::from(clock(&t.departs).to_owned()),
                Cell::from(clock(&t.arrives).to_owned()),
                Cell::from(Line::from(classes)),
            ])
            .style(if chosen {
                theme.focus()
            } else {
                Style::default()
            })
        })
        .collect();
    let title = format!(
        " {} → {} on {}: class fare Tk (seats free) ",
        found.from.name, found.to.name, found.date
    );
    let table = Table::new(
        rows,
        [
            Constraint::Length(26),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Min(20),
        ],
    )
    .header(Row::new(vec!["Train", "Dep", "Arr", "Classes"]).style(theme.title()))
    .block(Block::bordered().title(title));
    let mut state = ratatui::widgets::TableState::default().with_selected(Some(s.trip));
    frame.render_stateful_widget(table, results, &mut state);
}
