//! The seat map of one trip for the chosen journey and class: the class's
//! coaches as tabs, the seats laid out in rows with the aisle where the coach
//! has it, each seat marked free, held, sold or selected for THAT journey.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::Theme;
use crate::tui::app::Counter;
use crate::tui::seats::Grid;
use crate::tui::wire::{Seat, SeatState};

/// How a seat is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Free,
    Held,
    Sold,
    Selected,
    /// Selected here, but taken by someone else meanwhile.
    Conflict,
}

/// A seat's mark for this clerk.
pub fn mark(seat: &Seat, selected: bool) -> Mark {
    match (selected, seat.state()) {
        (true, SeatState::Free) => Mark::Selected,
        (true, _) => Mark::Conflict,
        (false, SeatState::Free) => Mark::Free,
        (false, SeatState::Held) => Mark::Held,
        (false, SeatState::Sold) => Mark::Sold,
    }
}

/// Five characters per seat; readable without colour.
pub fn cell_text(number: u32, mark: Mark) -> String {
    match mark {
        Mark::Free => format!(" {number:>3} "),
        Mark::Held => format!("({number:>3})"),
        Mark::Sold => " ░░░ ".to_owned(),
        Mark::Selected => format!("[{number:>3}]"),
        Mark::Conflict => format!("!{number:>3}!"),
    }
}

fn style(mark: Mark, theme: Theme) -> Style {
    match mark {
        Mark::Free => theme.free(),
        Mark::Held => theme.held(),
        Mark::Sold => theme.sold(),
        Mark::Selected => theme.selected(),
        Mark::Conflict => theme.conflict(),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &Counter, theme: Theme) {
    let Some(pick) = &app.pick else { return };
    let Some(map) = &pick.map else {
        frame.render_widget(
            Paragraph::new(" Loading the seat map…").block(Block::bordered()),
            area,
        );
        return;
    };
    let coaches = app.class_coaches();
    let [head, tabs, main] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!(" {} {} ", map.train.number, map.train.name),
                theme.title(),
            ),
            Span::raw(format!(
                "{} → {} · {} · Tk {} per seat",
                map.from.name, map.to.name, pick.class, pick.fare
            )),
        ])),
        head,
    );

    let mut tab_spans = vec![Span::raw(" Coaches: ")];
    // Coaches left of the chosen one scroll away on a narrow screen.
    let skip = pick.coach.saturating_sub(2);
    if skip > 0 {
        tab_spans.push(Span::raw("… "));
    }
    for (i, c) in coaches.iter().enumerate().skip(skip) {
        let text = format!(" {} {} free ", c.code, c.free);
        let s = if i == pick.coach {
            theme.focus().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        tab_spans.push(Span::styled(text, s));
        tab_spans.push(Span::raw("│"));
    }
    frame.render_widget(Paragraph::new(Line::from(tab_spans)), tabs);

    let [grid_area, side] =
        Layout::horizontal([Constraint::Min(34), Constraint::Length(36)]).areas(main);
    let Some(coach) = coaches.get(pick.coach) else {
        frame.render_widget(
            Paragraph::new(format!(" This train has no {} coach.", pick.class)),
            grid_area,
        );
        return;
    };
    let grid = Grid::of(coach);
    let visible = grid_area.height.saturating_sub(2).max(1) as usize;
    let cursor_row = grid.position(pick.cursor).0;
    let first_row = cursor_row.saturating_sub(visible - 1);
    let mut lines = Vec::new();
    for row in first_row..grid.rows().min(first_row + visible) {
        let mut spans = vec![Span::raw(format!(" {:>2} ", row + 1))];
        for col in 0..grid.per_row {
            let i = row * grid.per_row + col;
            if col == grid.aisle_after {
                spans.push(Span::raw(" ┆ "));
            }
            let Some(seat) = coach.seats.get(i) else {
                break;
            };
            let m = mark(seat, pick.selected.contains(&seat.seat));
            let mut s = style(m, theme);
            if i == pick.cursor {
                s = s.add_modifier(Modifier::REVERSED | Modifier::UNDERLINED);
            }
            spans.push(Span::styled(cell_text(seat.number, m), s));
        }
        lines.push(Line::from(spans));
    }
    let title = format!(" Coach {} ({}, {}) ", coach.code, coach.class, coach.layout);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title)),
        grid_area,
    );

    let conflicts = app.conflicts();
    let legend = [
        (Mark::Free, " free"),
        (Mark::Held, " held (being bought)"),
        (Mark::Sold, " sold"),
        (Mark::Selected, " selected"),
        (Mark::Conflict, " taken meanwhile"),
    ];
    let mut info: Vec<Line> = legend
        .iter()
        .map(|(m, what)| {
            Line::from(vec![
                Span::styled(cell_text(12, *m), style(*m, theme)),
                Span::raw(*what),
            ])
        })
        .collect();
    info.push(Line::raw(""));
    if let Some(seat) = app.cursor_seat() {
        let state = match seat.state() {
            SeatState::Free => "free",
            SeatState::Held => "held",
            SeatState::Sold => "sold",
        };
        info.push(Line::raw(format!(" Seat {}: {state}", seat.seat)));
    }
    if !pick.typed.is_empty() {
        info.push(Line::raw(format!(" Seat no.: {}", pick.typed)));
    }
    let n = pick.selected.len() as i64;
    info.push(Line::raw(format!(
        " Selected: {}",
        if n == 0 {
            "none".to_owned()
        } else {
            pick.selected.join(", ")
        }
    )));
    if n > 0 {
        info.push(Line::raw(format!(
            " Fare: Tk {} × {n} = {}",
            pick.fare,
            pick.fare * n
        )));
    }
    if !conflicts.is_empty() {
        info.push(Line::styled(
            format!(" ! {} taken by someone else", conflicts.join(", ")),
            theme.conflict(),
        ));
    }
    frame.render_widget(
        Paragraph::new(info).block(Block::bordered().title(" Legend ")),
        side,
    );
}
