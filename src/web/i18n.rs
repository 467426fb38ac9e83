//! The web app's two languages: the message table (English and Bangla side by
//! side, so a missing translation is a compile error, not a blank), Bangla
//! digits, and dates and times shown in Dhaka time.
//!
//! May not know HTTP: the language is chosen in `session` and handed in.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};

use crate::domain::DHAKA_OFFSET_SECS;

/// A language of the web app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Bn,
}

impl Lang {
    /// `en` or `bn` (cookie, `lang` attribute, switch links).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Bn => "bn",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim() {
            "en" => Some(Lang::En),
            "bn" => Some(Lang::Bn),
            _ => None,
        }
    }

    /// The other language, offered by the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Bn,
            Lang::Bn => Lang::En,
        }
    }

    /// The first of `en` / `bn` an `Accept-Language` header names (in its
    /// order of preference); English when it names neither.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut ranked: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut bits = part.split(';');
                let tag = bits.next()?.trim().to_ascii_lowercase();
                let q = bits
                    .find_map(|b| b.trim().strip_prefix("q=").map(str::to_owned))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                let primary = tag.split('-').next().unwrap_or("");
                Lang::parse(primary).map(|l| (q, l))
            })
            .collect();
        // Stable: equal weights keep the header's order.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map(|r| r.1).unwrap_or(Lang::En)
    }

    /// A message in this language.
    pub fn t(self, m: Msg) -> &'static str {
        let (en, bn) = m.texts();
        match self {
            Lang::En => en,
            Lang::Bn => bn,
        }
    }

    /// A number as this language writes it (Bangla digits in Bangla).
    pub fn num(self, n: impl std::fmt::Display) -> String {
        let s = n.to_string();
        match self {
            Lang::En => s,
            Lang::Bn => bangla_digits(&s),
        }
    }

    /// Taka: `৳ 1,234` with this language's digits.
    pub fn taka(self, amount: i64) -> String {
        let digits = amount.unsigned_abs().to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if amount < 0 { "-" } else { "" };
        format!("৳ {sign}{}", self.num(grouped))
    }

    /// `HH:MM` in Dhaka time of an RFC 3339 instant (the API's shape); the
    /// text itself when it does not parse.
    pub fn time(self, rfc3339: &str) -> String {
        match dhaka(rfc3339) {
            Some(t) => self.num(format!("{:02}:{:02}", t.hour(), t.minute())),
            None => rfc3339.to_owned(),
        }
    }

    /// `26 Nov 2026 06:15` in Dhaka time.
    pub fn date_time(self, rfc3339: &str) -> String {
        match dhaka(rfc3339) {
            Some(t) => format!("{} {}", self.date_of(t.date_naive()), self.time(rfc3339)),
            None => rfc3339.to_owned(),
        }
    }

    /// `2026-11-26` as `Thu 26 Nov 2026` / `বৃহস্পতিবার ২৬ নভেম্বর ২০২৬`.
    pub fn date(self, iso: &str) -> String {
        match NaiveDate::parse_from_str(iso, "%Y-%m-%d") {
            Ok(d) => self.date_of(d),
            Err(_) => iso.to_owned(),
        }
    }

    fn date_of(self, d: NaiveDate) -> String {
        let wd = d.weekday().num_days_from_monday() as usize;
        let mo = d.month0() as usize;
        match self {
            Lang::En => format!(
                "{} {} {} {}",
                WEEKDAYS_EN[wd],
                d.day(),
                MONTHS_EN[mo],
                d.year()
            ),
            Lang::Bn => format!(
                "{} {} {} {}",
                WEEKDAYS_BN[wd],
                self.num(d.day()),
                MONTHS_BN[mo],
                self.num(d.year())
            ),
        }
    }

    /// Minutes as `5 h 05 min` / `৫ ঘ ০৫ মি`.
    pub fn duration(self, minutes: i64) -> String {
        let (h, m) = (minutes / 60, minutes % 60);
        self.num(format!(
            "{h} {} {m:02} {}",
            self.t(Msg::Hours),
            self.t(Msg::Minutes)
        ))
    }
}

fn dhaka(rfc3339: &str) -> Option<DateTime<FixedOffset>> {
    let zone = FixedOffset::east_opt(DHAKA_OFFSET_SECS)?;
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.with_timezone(&zone))
}

/// ASCII digits replaced by Bangla ones (০–৯); everything else kept.
pub fn bangla_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32('০' as u32 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

const WEEKDAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const WEEKDAYS_BN: [&str; 7] = [
    "সোমবার",
    "মঙ্গলবার",
    "বুধবার",
    "বৃহস্পতিবার",
    "শুক্রবার",
    "শনিবার",
    "রবিবার",
];
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTHS_BN: [&str; 12] = [
    "জানুয়ারি",
    "ফেব্রুয়ারি",
    "মার্চ",
    "এপ্রিল",
    "মে",
    "জুন",
    "জুলাই",
    "আগস্ট",
    "সেপ্টেম্বর",
    "অক্টোবর",
    "নভেম্বর",
    "ডিসেম্বর",
];

pub use super::messages::Msg;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_of_ours() {
        assert_eq!(
            Lang::from_accept_language("bn-BD,bn;q=0.9,en;q=0.8"),
            Lang::Bn
        );
        assert_eq!(Lang::from_accept_language("en-US,bn;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr, bn;q=0.3"), Lang::Bn);
        assert_eq!(Lang::from_accept_language("fr"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }

    #[test]
    fn bangla_digits_and_dhaka_times() {
        assert_eq!(bangla_digits("2026-11-26"), "২০২৬-১১-২৬");
        assert_eq!(Lang::Bn.time("2026-11-26T00:15:00Z"), "০৬:১৫");
        assert_eq!(Lang::En.time("2026-11-26T06:15:00+06:00"), "06:15");
        assert_eq!(Lang::En.taka(1234567), "৳ 1,234,567");
        assert_eq!(Lang::Bn.taka(900), "৳ ৯০০");
        assert_eq!(Lang::En.date("2026-11-26"), "Thu 26 Nov 2026");
        assert_eq!(Lang::Bn.date("2026-11-26"), "বৃহস্পতিবার ২৬ নভেম্বর ২০২৬");
    }
}
