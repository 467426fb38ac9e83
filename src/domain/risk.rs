//! Fraud velocity rules: what is counted, per whom, over which sliding window,
//! and what happens past the threshold (allow, step-up, block), with the
//! reason. Pure: the counting itself is done by `app::risk` on counters in
//! memory or Redis; the window arithmetic both use is here.
//!
//! Every rule counts one kind of act (a hold, an order, a card added, a
//! failed payment, a wrong step-up code) per one kind of subject (an NID, a
//! phone, an account, a card, a wallet number, a client address). A rule
//! counts either every act or the distinct values seen (cards per account,
//! accounts per card). The act that makes the count pass the rule's limit
//! trips it: `limit` acts in a window are allowed, the next is not.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::{Nid, ParseError, UserId};

/// Who is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectKind {
    Nid,
    Phone,
    Account,
    /// A card, by its fingerprint (brand, last four, expiry): the gateway
    /// issues a new token each time a card is tokenised, so the token alone
    /// would count one card many times.
    Card,
    /// A mobile-wallet number (bKash, Nagad, …).
    Wallet,
    /// The client's IP address.
    Address,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 6] = [
        SubjectKind::Nid,
        SubjectKind::Phone,
        SubjectKind::Account,
        SubjectKind::Card,
        SubjectKind::Wallet,
        SubjectKind::Address,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Nid => "nid",
            SubjectKind::Phone => "phone",
            SubjectKind::Account => "account",
            SubjectKind::Card => "card",
            SubjectKind::Wallet => "wallet",
            SubjectKind::Address => "address",
        }
    }
}

impl FromStr for SubjectKind {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        SubjectKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(
                    "subject",
                    "one of nid, phone, account, card, wallet, address",
                )
            })
    }
}

/// One counted subject: its kind and its value, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    kind: SubjectKind,
    value: String,
}

impl Subject {
    pub fn nid(nid: &Nid) -> Subject {
        Subject::new(SubjectKind::Nid, nid.as_str())
    }
    /// A phone number as stored on accounts (`+8801…`).
    pub fn phone(phone: &str) -> Subject {
        Subject::new(SubjectKind::Phone, phone)
    }
    pub fn account(id: UserId) -> Subject {
        Subject::new(SubjectKind::Account, &id.to_string())
    }
    /// A card by brand, last four and expiry.
    pub fn card(brand: &str, last4: &str, exp_month: u32, exp_year: u32) -> Subject {
        Subject::new(
            SubjectKind::Card,
            &format!(
                "{}-{last4}-{exp_month:02}/{exp_year}",
                brand.to_ascii_lowercase()
            ),
        )
    }
    pub fn wallet(number: &str) -> Subject {
        Subject::new(SubjectKind::Wallet, number)
    }
    pub fn address(ip: IpAddr) -> Subject {
        Subject::new(SubjectKind::Address, &ip.to_canonical().to_string())
    }

    fn new(kind: SubjectKind, value: &str) -> Subject {
        Subject {
            kind,
            value: value.trim().to_owned(),
        }
    }

    /// A subject an admin named (`risk clear KIND VALUE`): bounded, printable.
    pub fn parse(kind: &str, value: &str) -> Result<Subject, ParseError> {
        let kind: SubjectKind = kind.parse()?;
        let value = value.trim();
        if value.is_empty() || value.len() > 64 || !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ParseError::new(
                "value",
                "1 to 64 visible ASCII characters (as `risk list` shows it)",
            ));
        }
        Ok(Subject::new(kind, value))
    }

    pub fn kind(&self) -> SubjectKind {
        self.kind
    }
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The counters' key part: `kind:value`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.value)
    }

    /// How the subject appears in logs: the kind and a short hash, never the
    /// value (NIDs and phone numbers are not logged).
    pub fn redacted(&self) -> String {
        let digest = Sha256::digest(self.key().as_bytes());
        format!("{}#{}", self.kind.as_str(), &hex::encode(digest)[..10])
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Act {
    Hold,
    Order,
    /// A payment token (a card) registered to an account.
    CardAdded,
    /// A mobile-wallet payment started.
    WalletPayment,
    PaymentFailed,
    /// A wrong step-up code.
    StepUpFailed,
}

/// What a tripped rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Allow,
    /// Allowed once the user proves again who they are (TOTP or an SMS code).
    StepUp,
    /// Refused until an admin clears the subject.
    Block,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::StepUp => "step-up",
            Outcome::Block => "block",
        }
    }
    pub const ALL: [Outcome; 3] = [Outcome::Allow, Outcome::StepUp, Outcome::Block];
}

impl FromStr for Outcome {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| ParseError::new("outcome", "one of allow, step-up, block"))
    }
}

/// Whether every act counts, or only distinct values (the other side: the
/// cards of an account, the accounts of a card).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    Acts,
    Distinct(SubjectKind),
}

/// A built-in rule: a name, what it counts per whom, and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub subject: SubjectKind,
    pub act: Act,
    pub counting: Counting,
    /// `None`: the rule is off.
    pub limit: Option<u32>,
    pub window: chrono::Duration,
    pub outcome: Outcome,
}

impl Rule {
    /// What is judged past the limit: `count` acts (or distinct values) in the window.
    pub fn judge(&self, count: u64) -> Outcome {
        match self.limit {
            Some(limit) if count > u64::from(limit) => self.outcome,
            _ => Outcome::Allow,
        }
    }

    /// The reason given when the rule trips at `count`.
    pub fn reason(&self, count: u64) -> String {
        let what = match (self.act, self.counting) {
            (_, Counting::Distinct(SubjectKind::Card)) => "distinct cards",
            (_, Counting::Distinct(SubjectKind::Account)) => "distinct accounts",
            (_, Counting::Distinct(_)) => "distinct values",
            (Act::Hold, _) => "holds",
            (Act::Order, _) => "orders",
            (Act::CardAdded, _) => "cards added",
            (Act::WalletPayment, _) => "wallet payments",
            (Act::PaymentFailed, _) => "failed payments",
            (Act::StepUpFailed, _) => "wrong step-up codes",
        };
        format!(
            "{count} {what} per {} in {} (limit {})",
            self.subject.as_str(),
            format_window(self.window),
            self.limit.unwrap_or(0)
        )
    }

    fn spec(&self) -> String {
        match self.limit {
            None => format!("{}=off", self.name),
            Some(l) => format!(
                "{}={l}/{}:{}",
                self.name,
                format_window(self.window),
                self.outcome.as_str()
            ),
        }
    }
}

/// The rules in force: the built-in ones with their configured settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskPolicy {
    pub rules: Vec<Rule>,
    /// How long a passed step-up lets the rules' step-ups through.
    pub step_up_for: chrono::Duration,
    /// How long an SMS step-up code is good for.
    pub code_ttl: chrono::Duration,
}

fn rule(
    name: &'static str,
    subject: SubjectKind,
    act: Act,
    counting: Counting,
    limit: Option<u32>,
    window: chrono::Duration,
    outcome: Outcome,
) -> Rule {
    Rule {
        name,
        subject,
        act,
        counting,
        limit,
        window,
        outcome,
    }
}

impl Default for RiskPolicy {
    /// Defaults high enough for people (and for the test suite and the
    /// rehearsal, whose buyers all come from 127.0.0.1 and share the mock
    /// gateway's test cards): the per-address and per-card rules are off.
    fn default() -> Self {
        use Act::*;
        use Counting::*;
        use Outcome::*;
        use SubjectKind as S;
        let m = chrono::Duration::minutes;
        let h = chrono::Duration::hours;
        RiskPolicy {
            rules: vec![
                rule(
                    "holds_per_account",
                    S::Account,
                    Hold,
                    Acts,
                    Some(30),
                    m(1),
                    StepUp,
                ),
                rule("holds_per_nid", S::Nid, Hold, Acts, Some(30), m(1), StepUp),
                rule(
                    "holds_per_address",
                    S::Address,
                    Hold,
                    Acts,
                    None,
                    m(1),
                    StepUp,
                ),
                rule(
                    "orders_per_account",
                    S::Account,
                    Order,
                    Acts,
                    Some(30),
                    h(1),
                    StepUp,
                ),
                rule(
                    "orders_per_phone",
                    S::Phone,
                    Order,
                    Acts,
                    Some(30),
                    h(1),
                    StepUp,
                ),
                rule(
                    "cards_per_account",
                    S::Account,
                    CardAdded,
                    Distinct(S::Card),
                    Some(5),
                    h(24),
                    StepUp,
                ),
                rule(
                    "accounts_per_card",
                    S::Card,
                    CardAdded,
                    Distinct(S::Account),
                    None,
                    h(24),
                    Block,
                ),
                rule(
                    "accounts_per_wallet",
                    S::Wallet,
                    WalletPayment,
                    Distinct(S::Account),
                    Some(3),
                    h(24),
                    StepUp,
                ),
                rule(
                    "failed_payments_per_account",
                    S::Account,
                    PaymentFailed,
                    Acts,
                    Some(10),
                    h(1),
                    StepUp,
                ),
                rule(
                    "failed_payments_per_card",
                    S::Card,
                    PaymentFailed,
                    Acts,
                    None,
                    h(1),
                    Block,
                ),
                rule(
                    "failed_payments_per_wallet",
                    S::Wallet,
                    PaymentFailed,
                    Acts,
                    Some(10),
                    h(1),
                    Block,
                ),
                rule(
                    "step_up_failures",
                    S::Account,
                    StepUpFailed,
                    Acts,
                    Some(5),
                    m(15),
                    Block,
                ),
            ],
            step_up_for: m(10),
            code_ttl: m(5),
        }
    }
}

impl RiskPolicy {
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// The rules that count `act`.
    pub fn counting(&self, act: Act) -> impl Iterator<Item = &Rule> {
        self.rules
            .iter()
            .filter(move |r| r.act == act && r.limit.is_some())
    }

    /// Applies one setting: `NAME=LIMIT/WINDOW:OUTCOME` (e.g.
    /// `holds_per_account=20/1m:step-up`, windows in s, m, h or d) or `NAME=off`.
    pub fn set(&mut self, spec: &str) -> Result<(), ParseError> {
        let bad = |why: String| ParseError::new("risk-rule", why);
        let (name, setting) = spec.split_once('=').ok_or_else(|| {
            bad(format!(
                "'{spec}': expected NAME=LIMIT/WINDOW:OUTCOME or NAME=off"
            ))
        })?;
        let names: Vec<&str> = self.rules.iter().map(|r| r.name).collect();
        let rule = self
            .rules
            .iter_mut()
            .find(|r| r.name == name.trim())
            .ok_or_else(|| bad(format!("no rule '{name}'; rules: {}", names.join(", "))))?;
        let setting = setting.trim();
        if setting == "off" {
            rule.limit = None;
            return Ok(());
        }
        let (limit, rest) = setting
            .split_once('/')
            .ok_or_else(|| bad(format!("'{spec}': expected LIMIT/WINDOW:OUTCOME")))?;
        let (window, outcome) = rest
            .split_once(':')
            .unwrap_or((rest, rule.outcome.as_str()));
        let limit: u32 = limit
            .parse()
            .ok()
            .filter(|l| (1..=1_000_000).contains(l))
            .ok_or_else(|| bad(format!("'{limit}': a limit of 1 to 1000000")))?;
        let window = parse_window(window).ok_or_else(|| {
            bad(format!(
                "'{window}': a window like 30s, 1m, 1h or 1d (at most 7d)"
            ))
        })?;
        let outcome: Outcome = outcome.parse().map_err(|_| {
            bad(format!(
                "'{outcome}': an outcome of allow, step-up or block"
            ))
        })?;
        rule.limit = Some(limit);
        rule.window = window;
        rule.outcome = outcome;
        Ok(())
    }

    /// Every rule's setting, in `set`'s syntax.
    pub fn specs(&self) -> Vec<String> {
        self.rules.iter().map(Rule::spec).collect()
    }
}

fn parse_window(s: &str) -> Option<chrono::Duration> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let d = match unit {
        's' => chrono::Duration::seconds(n),
        'm' => chrono::Duration::minutes(n),
        'h' => chrono::Duration::hours(n),
        'd' => chrono::Duration::days(n),
        _ => return None,
    };
    (n > 0 && d <= chrono::Duration::days(7)).then_some(d)
}

fn format_window(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// One rule's verdict on one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub rule: &'static str,
    pub subject: Subject,
    pub outcome: Outcome,
    pub reason: String,
}

/// The strongest of the verdicts (block over step-up over allow); the first
/// such one names the reason.
pub fn strongest(verdicts: &[Verdict]) -> Option<&Verdict> {
    verdicts
        .iter()
        .filter(|v| v.outcome != Outcome::Allow)
        .fold(None, |best: Option<&Verdict>, v| match best {
            Some(b) if b.outcome >= v.outcome => Some(b),
            _ => Some(v),
        })
}

/// A sliding window of timestamped entries (milliseconds), for counters kept
/// in memory; the Redis counters keep the same in a sorted set. An entry is in
/// the window while `at > now - window`; a distinct value seen again moves to
/// its latest time. Counts leave out entries at or before `since` (the
/// subject's last clearing by an admin), so a cleared subject starts afresh
/// in every process without reaching its counters.
#[derive(Debug, Default, Clone)]
pub struct SlidingWindow {
    entries: HashMap<String, i64>,
}

impl SlidingWindow {
    /// Forgets what is outside the window ending at `now_ms`.
    pub fn trim(&mut self, now_ms: i64, window_ms: i64) {
        let oldest = now_ms - window_ms;
        self.entries.retain(|_, at| *at > oldest);
    }

    /// Records `member` at `now_ms` and answers how many are in the window
    /// after `since_ms`.
    pub fn hit(&mut self, member: String, now_ms: i64, window_ms: i64, since_ms: i64) -> u64 {
        self.trim(now_ms, window_ms);
        self.entries.insert(member, now_ms);
        self.after(since_ms)
    }

    pub fn count(&mut self, now_ms: i64, window_ms: i64, since_ms: i64) -> u64 {
        self.trim(now_ms, window_ms);
        self.after(since_ms)
    }

    fn after(&self, since_ms: i64) -> u64 {
        self.entries.values().filter(|at| **at > since_ms).count() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
#[path = "risk_tests.rs"]
mod tests;
