//! The one text rule for every string that comes from outside.
//!
//! A name, alias, phone or token reaches tickets, SMS, logs and both databases.
//! Postgres refuses a NUL (so it would surface as a 500), SQLite stores it, and
//! a bidi override (U+202E) makes a passenger's name print reversed on a ticket.
//! So every string field of every request passes this rule at the edge: no
//! control characters (C0, DEL, C1: tabs and newlines too, no field needs them),
//! no bidi controls, surrounding blanks trimmed (passwords excepted) and a
//! per-field length cap. The server applies it to every field of every body,
//! query and path before any handler sees the request; this module only says
//! what the rule is.

/// Why a string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not contain control characters (found U+{0:04X})")]
    Control(u32),
    #[error("must not contain bidirectional-text controls (found U+{0:04X})")]
    Bidi(u32),
    #[error("is too long: at most {max} characters")]
    TooLong { max: usize },
}

/// Characters that reorder text around them: embeddings, overrides, isolates
/// and the invisible direction marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// C0 (NUL, tab, newline, …), DEL and C1 controls, and the Unicode line and
/// paragraph separators (a line break by another name).
fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Checks one value against the rule with the given length cap (in characters).
pub fn check(value: &str, max_chars: usize) -> Result<(), TextError> {
    if let Some(c) = value.chars().find(|c| is_control(*c)) {
        return Err(TextError::Control(c as u32));
    }
    if let Some(c) = value.chars().find(|c| is_bidi_control(*c)) {
        return Err(TextError::Bidi(c as u32));
    }
    // Bytes bound characters from above: only count when it could matter.
    if value.len() > max_chars && value.chars().count() > max_chars {
        return Err(TextError::TooLong { max: max_chars });
    }
    Ok(())
}

/// The longest value a field may hold, by the field's name. Names are those of
/// the API's bodies and queries; an unknown field gets the default.
pub fn max_chars(field: &str) -> usize {
    match field {
        "code" | "totp" | "class" | "seats" | "role" | "cvc" | "pnr" => 16,
        "phone" | "nid" | "number" => 32,
        "date" | "since" | "opens_at" => 40,
        "aliases" | "from" | "to" => 60,
        "id" => 64,
        "name" | "name_bn" => 100,
        "password" => 128,
        "email" | "login" => 254,
        "refresh_token" | "payment_token" | "payload" => 2048,
        _ => DEFAULT_MAX_CHARS,
    }
}

/// Cap of a field not named in [`max_chars`].
pub const DEFAULT_MAX_CHARS: usize = 256;

/// Most items an array in a request may hold (a sale's trips are the longest).
pub const MAX_ITEMS: usize = 1000;

/// Whether surrounding blanks are trimmed away: everywhere but passwords,
/// whose every character is the user's choice.
pub fn trims(field: &str) -> bool {
    field != "password"
}

/// Applies the rule to one field: the trimmed value, or why it was refused.
/// Characters are checked before trimming, so a control character is refused
/// wherever it stands (a trailing newline too); the cap counts what is kept.
pub fn clean<'a>(field: &str, value: &'a str) -> Result<&'a str, TextError> {
    check(value, usize::MAX)?;
    let value = if trims(field) { value.trim() } else { value };
    check(value, max_chars(field))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_character_is_refused() {
        let controls = (0u32..0x20).chain(0x7F..=0x9F).chain([0x2028, 0x2029]);
        for code in controls {
            let c = char::from_u32(code).unwrap();
            let value = format!("Rahim{c}Uddin");
            assert_eq!(
                check(&value, 100),
                Err(TextError::Control(code)),
                "U+{code:04X}"
            );
        }
    }

    #[test]
    fn every_bidi_control_is_refused() {
        let bidi = (0x202Au32..=0x202E)
            .chain(0x2066..=0x2069)
            .chain([0x200E, 0x200F, 0x061C]);
        for code in bidi {
            let c = char::from_u32(code).unwrap();
            assert_eq!(
                check(&format!("{c}abc"), 100),
                Err(TextError::Bidi(code)),
                "U+{code:04X}"
            );
        }
    }

    #[test]
    fn ordinary_text_of_any_script_passes() {
        for ok in [
            "Rahim Uddin",
            "রহিম উদ্দিন",
            "O'Brien-Smith",
            "চট্টগ্রাম",
            "José",
            "😀",
        ] {
            assert_eq!(check(ok, 100), Ok(()), "{ok}");
        }
    }

    #[test]
    fn length_is_counted_in_characters_at_the_field_cap() {
        let cap = max_chars("aliases");
        assert_eq!(check(&"ক".repeat(cap), cap), Ok(()));
        assert_eq!(
            check(&"ক".repeat(cap + 1), cap),
            Err(TextError::TooLong { max: cap })
        );
    }

    #[test]
    fn values_are_trimmed_except_passwords() {
        assert_eq!(clean("name", "  Rahim "), Ok("Rahim"));
        assert_eq!(clean("password", " secret "), Ok(" secret "));
        assert!(clean("name", " Ra\u{0}him ").is_err());
        assert_eq!(clean("name", "Rahim\n"), Err(TextError::Control(0x0A)));
        assert_eq!(clean("name", "Rahim\u{85}"), Err(TextError::Control(0x85)));
    }
}
