//! Keys on the sign-in box.

use crossterm::event::{KeyCode, KeyEvent};

use super::*;

impl Counter {
    pub(super) fn login_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let fields = if self.login.need_totp { 3 } else { 2 };
        match key.code {
            KeyCode::Tab | KeyCode::Down => self.login.focus = (self.login.focus + 1) % fields,
            KeyCode::BackTab | KeyCode::Up => {
                self.login.focus = (self.login.focus + fields - 1) % fields
            }
            KeyCode::Enter => {
                if self.login.focus + 1 < fields
                    && self.login_field(self.login.focus).value().is_empty()
                {
                    return vec![];
                }
                if self.login.focus + 1 < fields
                    && self.login_field(self.login.focus + 1).value().is_empty()
                {
                    self.login.focus += 1;
                    return vec![];
                }
                let e = Effect::Login {
                    login: self.login.login.value().trim().to_owned(),
                    password: self.login.password.value().to_owned(),
                    totp: self
                        .login
                        .need_totp
                        .then(|| self.login.totp.value().trim().to_owned()),
                };
                self.say(Level::Info, "Signing in…");
                return self.effect(e);
            }
            _ => {
                let focus = self.login.focus;
                self.login_field_mut(focus).handle(key);
            }
        }
        vec![]
    }

    pub(super) fn login_field(&self, i: usize) -> &Input {
        match i {
            0 => &self.login.login,
            1 => &self.login.password,
            _ => &self.login.totp,
        }
    }

    pub(super) fn login_field_mut(&mut self, i: usize) -> &mut Input {
        match i {
            0 => &mut self.login.login,
            1 => &mut self.login.password,
            _ => &mut self.login.totp,
        }
    }
}
