//! A one-line text field: typing, deleting and moving within it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    value: String,
    /// Cursor position in characters.
    cursor: usize,
    /// Shown as stars (passwords).
    pub secret: bool,
}

impl Input {
    pub fn secret() -> Self {
        Input {
            secret: true,
            ..Input::default()
        }
    }

    pub fn with(value: &str) -> Self {
        let mut i = Input::default();
        i.set(value);
        i
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn set(&mut self, value: &str) {
        self.value = value.to_owned();
        self.cursor = self.value.chars().count();
    }

    pub fn clear(&mut self) {
        self.set("");
    }

    /// What the field shows (stars for a secret).
    pub fn shown(&self) -> String {
        if self.secret {
            "*".repeat(self.value.chars().count())
        } else {
            self.value.clone()
        }
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.value
            .char_indices()
            .nth(chars)
            .map_or(self.value.len(), |(i, _)| i)
    }

    /// Applies an editing key; false when the key is not an edit (the caller handles it).
    pub fn handle(&mut self, key: KeyEvent) -> bool {
        if key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            if key.code == KeyCode::Char('u') && key.modifiers == KeyModifiers::CONTROL {
                self.clear();
                return true;
            }
            return false;
        }
        let len = self.value.chars().count();
        match key.code {
            KeyCode::Char(c) => {
                let at = self.byte_at(self.cursor);
                self.value.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_at(self.cursor);
                self.value.remove(at);
            }
            KeyCode::Delete if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.value.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn edits_in_the_middle_of_multibyte_text() {
        let mut i = Input::with("ঢাকা");
        i.handle(key(KeyCode::Home));
        i.handle(key(KeyCode::Right));
        i.handle(key(KeyCode::Char('x')));
        assert_eq!(i.value(), "ঢxাকা");
        i.handle(key(KeyCode::Backspace));
        i.handle(key(KeyCode::Backspace));
        assert_eq!(i.value(), "াকা");
        assert_eq!(i.cursor(), 0);
        assert!(!i.handle(key(KeyCode::Enter)));
    }

    #[test]
    fn secrets_show_stars() {
        let mut i = Input::secret();
        i.set("pass");
        assert_eq!(i.shown(), "****");
    }
}
