//! SMS text rules: which alphabet a text needs, how many segments it costs,
//! the language a traveller is written to, and Bangla digits.
//!
//! Pure: the SMS gateway client, the mock gateway and the notification texts
//! all count the same way, so a message's price is known before it is sent.

use std::fmt;

/// How a text travels over SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsEncoding {
    /// The GSM 03.38 default alphabet, 7 bits a character: 160 in one SMS,
    /// 153 a segment when split (the rest carries the join header).
    Gsm7,
    /// UCS-2, 16 bits a character, for anything else (Bangla): 70 in one
    /// SMS, 67 a segment when split.
    Ucs2,
}

impl SmsEncoding {
    /// Of a text: GSM-7 when every character is in the GSM alphabet (or its
    /// extension table), else UCS-2.
    pub fn of(text: &str) -> SmsEncoding {
        if text.chars().all(|c| gsm7_septets(c).is_some()) {
            SmsEncoding::Gsm7
        } else {
            SmsEncoding::Ucs2
        }
    }

    /// The `type` field of the Bangladeshi bulk-SMS APIs: `text` or `unicode`.
    pub fn api_type(self) -> &'static str {
        match self {
            SmsEncoding::Gsm7 => "text",
            SmsEncoding::Ucs2 => "unicode",
        }
    }

    /// Reads an API `type` field.
    pub fn from_api_type(s: &str) -> Option<SmsEncoding> {
        match s {
            "text" => Some(SmsEncoding::Gsm7),
            "unicode" => Some(SmsEncoding::Ucs2),
            _ => None,
        }
    }
}

impl fmt::Display for SmsEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SmsEncoding::Gsm7 => "gsm7",
            SmsEncoding::Ucs2 => "ucs2",
        })
    }
}

/// Septets a character takes in GSM-7: 1 in the default alphabet, 2 in the
/// extension table (escape + character), `None` when GSM-7 cannot carry it.
fn gsm7_septets(c: char) -> Option<u32> {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENDED: &str = "^{}\\[~]|€\u{0C}";
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Segments (billed SMS) a text costs in its encoding.
pub fn segments(text: &str) -> u32 {
    let (units, single, multi) = match SmsEncoding::of(text) {
        SmsEncoding::Gsm7 => (text.chars().filter_map(gsm7_septets).sum::<u32>(), 160, 153),
        // UTF-16 code units: a character outside the BMP takes two.
        SmsEncoding::Ucs2 => (text.encode_utf16().count() as u32, 70, 67),
    };
    // An empty text still costs one SMS.
    if units <= single {
        1
    } else {
        units.div_ceil(multi)
    }
}

/// The language a traveller is written to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Bangla: the default for counter buyers.
    Bn,
    /// English: online accounts (no language preference is kept yet).
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Bn => "bn",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "bn" => Some(Lang::Bn),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// `s` with ASCII digits written as Bangla digits (০১২৩৪৫৬৭৮৯).
pub fn bangla_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) if c.is_ascii_digit() => char::from_u32(0x09E6 + d).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// A Bangladeshi mobile number in the international form the bulk-SMS APIs
/// take (`8801XXXXXXXXX`), from the normalised `+8801…` or local `01…` form.
pub fn msisdn(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix('0') {
        Some(rest) => format!("880{rest}"),
        None => digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_gsm7_and_bangla_is_ucs2() {
        assert_eq!(SmsEncoding::of("PNR AB12 seat KA-3"), SmsEncoding::Gsm7);
        assert_eq!(SmsEncoding::of("Tk 450 {refund}"), SmsEncoding::Gsm7);
        assert_eq!(SmsEncoding::of("ট্রেন ৭০১"), SmsEncoding::Ucs2);
        // One Bangla letter is enough to need UCS-2; so is an arrow.
        assert_eq!(SmsEncoding::of("Dhaka ঢাকা"), SmsEncoding::Ucs2);
        assert_eq!(SmsEncoding::of("DHK → CTG"), SmsEncoding::Ucs2);
        assert_eq!(SmsEncoding::Ucs2.api_type(), "unicode");
        assert_eq!(SmsEncoding::from_api_type("text"), Some(SmsEncoding::Gsm7));
        assert_eq!(SmsEncoding::from_api_type("flash"), None);
    }

    #[test]
    fn segments_follow_the_single_and_split_limits() {
        assert_eq!(segments(""), 1);
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        // Extension characters cost two septets.
        assert_eq!(segments(&"€".repeat(80)), 1);
        assert_eq!(segments(&"€".repeat(81)), 2);
        assert_eq!(segments(&"ক".repeat(70)), 1);
        assert_eq!(segments(&"ক".repeat(71)), 2);
        assert_eq!(segments(&"ক".repeat(134)), 2);
        assert_eq!(segments(&"ক".repeat(135)), 3);
    }

    #[test]
    fn digits_and_numbers() {
        assert_eq!(bangla_digits("701, 03/12 07:30"), "৭০১, ০৩/১২ ০৭:৩০");
        assert_eq!(bangla_digits("PNR"), "PNR");
        assert_eq!(msisdn("+8801712345678"), "8801712345678");
        assert_eq!(msisdn("01712345678"), "8801712345678");
        assert_eq!(Lang::parse("bn"), Some(Lang::Bn));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::En.code(), "en");
    }
}
