//! The sign-in box.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::{Theme, centered, field_line};
use crate::tui::app::Counter;

pub fn draw(frame: &mut Frame, area: Rect, app: &Counter, theme: Theme) {
    let f = &app.login;
    let mut lines = vec![
        Line::raw("Sign in with a clerk account (phone or e-mail)."),
        Line::raw(""),
        field_line("Login", f.login.shown(), f.focus == 0, theme),
        field_line("Password", f.password.shown(), f.focus == 1, theme),
    ];
    if f.need_totp {
        lines.push(field_line("2FA code", f.totp.shown(), f.focus == 2, theme));
    }
    let box_area = centered(area, 60, 9);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Counter sign-in ")),
        box_area,
    );
}
