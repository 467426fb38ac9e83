//! Fraud velocity checks, as use cases: at a hold, an order, a card added
//! and a failed payment (and, for the wallet flow, a wallet payment started
//! or failed), the rules of `domain::risk` are judged on sliding-window
//! counters (`counters`: Redis when configured, else memory, as the waiting
//! room). A tripped rule steps the request up (403 `step-up-required`: a TOTP
//! code, or an SMS code from `POST /v1/me/step-up/sms`, sent back in
//! `X-Step-Up-Code`) or blocks the subject (403 `risk-blocked`) until an
//! admin clears it. Every step-up and block is recorded with its reason
//! (`risk_decisions`, with a `risk.decided` event for the audit chain),
//! logged without the subject's value, and counted in
//! `ticketctl_risk_decisions_total{rule,outcome}`.
//!
//! A block resets the blocked subject's counters when it trips (the block
//! itself now holds it), and clearing resets them again, so a cleared
//! subject starts afresh even where another process's memory held them.

pub mod counters;

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::domain::risk::{Act, Counting, Outcome, RiskPolicy, Rule, Subject, Verdict, strongest};
use crate::domain::{EventId, ParseError, UserId};
use crate::store::sms::NewSms;
use crate::store::{NewRiskDecision, RiskDecision};

use super::{App, AppConfig, AppError, AppResult};
use counters::{MemoryCounters, RedisCounters, RiskCounters, Span};

/// Decisions listed at most.
pub const LIST_LIMIT: i64 = 500;
/// SMS step-up codes one account may ask for per `SMS_WINDOW_MS`.
const SMS_PER_WINDOW: u32 = 5;
const SMS_WINDOW_MS: i64 = 15 * 60 * 1000;

/// The rules and their counters.
pub struct Risk {
    pub(crate) policy: RiskPolicy,
    counters: Arc<dyn RiskCounters>,
}

impl Risk {
    /// Counters in Redis when `config.redis_url` is set, else in this process's memory.
    pub(crate) fn new(config: &AppConfig) -> AppResult<Risk> {
        let counters: Arc<dyn RiskCounters> = match &config.redis_url {
            Some(url) => Arc::new(RedisCounters::connect(url, &config.redis_prefix)?),
            None => Arc::new(MemoryCounters::default()),
        };
        tracing::info!(counters = counters.kind(), "risk counters");
        Ok(Risk {
            policy: config.risk.clone(),
            counters,
        })
    }

    /// Where the counters are kept: "memory" or "redis".
    pub fn counters_kind(&self) -> &'static str {
        self.counters.kind()
    }
}

/// A subject's counters' key prefix (every rule's counter of it starts so).
fn subject_prefix(subject: &Subject) -> String {
    format!("s:{}|", subject.key())
}

fn counter_key(rule: &Rule, subject: &Subject) -> String {
    format!("{}{}", subject_prefix(subject), rule.name)
}

fn passed_key(user: UserId) -> String {
    format!("u:{user}:passed")
}

fn code_key(user: UserId) -> String {
    format!("u:{user}:code")
}

fn code_hash(user: UserId, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{user}:{}", code.trim()).as_bytes()))
}

fn ms(d: chrono::Duration) -> i64 {
    d.num_milliseconds().max(1)
}

/// Who a checked act is about.
#[derive(Debug, Clone, Default)]
pub struct RiskSubjects {
    pub user: Option<UserId>,
    pub subjects: Vec<Subject>,
    /// When each subject's block was last cleared (ms; by subject key):
    /// only later acts count.
    cleared: HashMap<String, i64>,
}

impl RiskSubjects {
    fn new(user: UserId, subjects: Vec<Subject>) -> RiskSubjects {
        RiskSubjects {
            user: Some(user),
            subjects,
            cleared: HashMap::new(),
        }
    }

    fn of(&self, kind: crate::domain::risk::SubjectKind) -> Option<&Subject> {
        self.subjects.iter().find(|s| s.kind() == kind)
    }

    fn span(&self, rule: &Rule, subject: &Subject, now_ms: i64) -> Span {
        Span {
            window_ms: ms(rule.window),
            now_ms,
            since_ms: self
                .cleared
                .get(&subject.key())
                .copied()
                .unwrap_or(i64::MIN),
        }
    }
}

/// The longest window a rule may have (`RiskPolicy::set` bounds it): a
/// clearing older than this no longer matters.
const LONGEST_WINDOW: chrono::Duration = chrono::Duration::days(7);

impl App {
    /// The subjects of an online act by `user_id` from `client`: the account,
    /// its NID and phone, and the address (loopback is not counted: it is a
    /// proxy on this host, or a test).
    async fn risk_subjects_of(
        &self,
        user_id: UserId,
        client: Option<IpAddr>,
    ) -> AppResult<RiskSubjects> {
        let user = self.user(user_id).await?;
        let mut subjects = vec![Subject::account(user.id), Subject::phone(&user.phone)];
        if let Some(nid) = &user.nid {
            subjects.push(Subject::nid(nid));
        }
        if let Some(ip) = client.filter(|ip| !ip.to_canonical().is_loopback()) {
            subjects.push(Subject::address(ip));
        }
        Ok(RiskSubjects::new(user.id, subjects))
    }

    /// Checks a hold by `user_id` from `client`.
    pub(crate) async fn risk_hold(&self, user_id: UserId, client: Option<IpAddr>) -> AppResult<()> {
        let mut who = self.risk_subjects_of(user_id, client).await?;
        self.risk_check(Act::Hold, &mut who).await
    }

    /// Checks an order by `user_id` paid with `card`.
    pub(crate) async fn risk_order(&self, user_id: UserId, card: Subject) -> AppResult<()> {
        let mut who = self.risk_subjects_of(user_id, None).await?;
        who.subjects.push(card);
        self.risk_check(Act::Order, &mut who).await
    }

    /// Checks a card being added to `user_id`'s account.
    pub(crate) async fn risk_card_added(&self, user_id: UserId, card: Subject) -> AppResult<()> {
        let mut who = RiskSubjects::new(user_id, vec![Subject::account(user_id), card]);
        self.risk_check(Act::CardAdded, &mut who).await
    }

    /// Counts a declined card payment of `user_id`'s.
    pub(crate) async fn risk_card_failed(&self, user_id: UserId, card: Subject) {
        let mut who = RiskSubjects::new(user_id, vec![Subject::account(user_id), card]);
        self.risk_note(Act::PaymentFailed, &mut who).await;
    }

    /// For the mobile-wallet flow: call when a wallet payment from
    /// `wallet_number` is about to be created for `user_id`. Refuses with
    /// `StepUpRequired` or `RiskBlocked` (answer the client with them);
    /// counts distinct accounts per wallet and judges its failed payments.
    pub async fn risk_wallet_payment(&self, user_id: UserId, wallet_number: &str) -> AppResult<()> {
        let mut who = self.risk_subjects_of(user_id, None).await?;
        who.subjects.push(Subject::wallet(wallet_number));
        self.risk_check(Act::WalletPayment, &mut who).await
    }

    /// For the mobile-wallet flow: call when a wallet payment of `user_id`
    /// from `wallet_number` failed (declined, cancelled, timed out at the
    /// provider). Counts toward the failed-payment rules; never fails.
    pub async fn risk_wallet_payment_failed(&self, user_id: UserId, wallet_number: &str) {
        let mut who = RiskSubjects::new(
            user_id,
            vec![Subject::account(user_id), Subject::wallet(wallet_number)],
        );
        self.risk_note(Act::PaymentFailed, &mut who).await;
    }

    /// Judges an act: refused when a subject is blocked; else counted by the
    /// rules that count it (and, for payments, judged by the failed-payment
    /// rules), and the strongest verdict applies.
    async fn risk_check(&self, act: Act, who: &mut RiskSubjects) -> AppResult<()> {
        self.risk_state(who).await?;
        let mut verdicts = self.risk_count(act, who).await;
        if matches!(act, Act::Order | Act::WalletPayment) {
            verdicts.extend(self.risk_peek(Act::PaymentFailed, who).await);
        }
        let Some(v) = strongest(&verdicts).cloned() else {
            return Ok(());
        };
        if v.outcome == Outcome::StepUp
            && let Some(user) = who.user
            && self
                .risk
                .counters
                .has(&passed_key(user), self.now().timestamp_millis())
                .await
        {
            return Ok(());
        }
        self.risk_decided(&v, who.user).await?;
        match v.outcome {
            Outcome::Block => Err(blocked(v.rule.to_owned(), v.reason)),
            _ => Err(self.step_up_required(who.user, &v).await),
        }
    }

    /// Counts an act that refuses nothing now (a failed payment); a rule it
    /// trips is recorded (a block takes effect at once).
    async fn risk_note(&self, act: Act, who: &mut RiskSubjects) {
        if let Err(e) = self.risk_state(who).await {
            // Blocked already (or the database is away): nothing more to count.
            tracing::debug!(error = %e, "failed payment not counted");
            return;
        }
        let verdicts = self.risk_count(act, who).await;
        for v in verdicts.iter().filter(|v| v.outcome != Outcome::Allow) {
            if let Err(e) = self.risk_decided(v, who.user).await {
                tracing::warn!(error = %e, rule = v.rule, "could not record a risk decision");
            }
        }
    }

    /// Reads the subjects' blocks: one in force refuses the act; the last
    /// clearing of each restarts its counts.
    async fn risk_state(&self, who: &mut RiskSubjects) -> AppResult<()> {
        let blocks = self
            .store
            .risk_blocks(&who.subjects, self.now() - LONGEST_WINDOW)
            .await?;
        if let Some(block) = blocks.iter().find(|b| b.cleared_at.is_none()) {
            return Err(blocked(block.rule.clone(), block.reason.clone()));
        }
        for b in blocks {
            if let Some(at) = b.cleared_at {
                let since = at.timestamp_millis();
                let key = format!("{}:{}", b.subject_kind, b.subject);
                let slot = who.cleared.entry(key).or_insert(since);
                *slot = (*slot).max(since);
            }
        }
        Ok(())
    }

    /// Adds the act to every rule that counts it, for each subject it has.
    async fn risk_count(&self, act: Act, who: &RiskSubjects) -> Vec<Verdict> {
        let now = self.now().timestamp_millis();
        let mut verdicts = vec![];
        for rule in self.risk.policy.counting(act) {
            let Some(subject) = who.of(rule.subject) else {
                continue;
            };
            let member = match rule.counting {
                Counting::Acts => None,
                Counting::Distinct(kind) => match who.of(kind) {
                    Some(other) => Some(other.value().to_owned()),
                    None => continue,
                },
            };
            let n = self
                .risk
                .counters
                .hit(
                    &counter_key(rule, subject),
                    member.as_deref(),
                    who.span(rule, subject, now),
                )
                .await;
            verdicts.push(verdict(rule, subject, n));
        }
        verdicts
    }

    /// Judges the rules that count `act` without adding to them.
    async fn risk_peek(&self, act: Act, who: &RiskSubjects) -> Vec<Verdict> {
        let now = self.now().timestamp_millis();
        let mut verdicts = vec![];
        for rule in self.risk.policy.counting(act) {
            if let Some(subject) = who.of(rule.subject) {
                let n = self
                    .risk
                    .counters
                    .count(&counter_key(rule, subject), who.span(rule, subject, now))
                    .await;
                verdicts.push(verdict(rule, subject, n));
            }
        }
        verdicts
    }

    /// Records, logs and counts a step-up or block.
    async fn risk_decided(&self, v: &Verdict, user: Option<UserId>) -> AppResult<()> {
        let id = self
            .store
            .record_risk_decision(&NewRiskDecision {
                rule: v.rule.to_owned(),
                outcome: v.outcome,
                subject: v.subject.clone(),
                reason: v.reason.clone(),
                user_id: user,
                now: self.now(),
            })
            .await?;
        tracing::warn!(
            decision = %id,
            rule = v.rule,
            outcome = v.outcome.as_str(),
            subject = %v.subject.redacted(),
            reason = %v.reason,
            "risk rule tripped"
        );
        self.metrics.risk_decision(v.rule, v.outcome.as_str());
        Ok(())
    }

    async fn step_up_required(&self, user: Option<UserId>, v: &Verdict) -> AppError {
        let mfa = match user {
            Some(u) => self.user(u).await.map(|u| u.mfa_enabled).unwrap_or(false),
            None => false,
        };
        AppError::StepUpRequired {
            rule: v.rule.to_owned(),
            reason: v.reason.clone(),
            methods: vec![if mfa { "totp" } else { "sms" }],
        }
    }

    /// Passes the step-up for `user_id` with `code`: the account's TOTP code
    /// when it has two-factor on, else the code last sent by SMS. Each code
    /// works once; a wrong one counts toward `step_up_failures` (a block).
    /// Passed, the rules' step-ups let the account through for a while.
    pub async fn pass_step_up(&self, user_id: UserId, code: &str) -> AppResult<()> {
        let mut who = RiskSubjects::new(user_id, vec![Subject::account(user_id)]);
        self.risk_state(&mut who).await?;
        let user = self.user(user_id).await?;
        let shaped = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        let now = self.now().timestamp_millis();
        let good = shaped
            && if user.mfa_enabled {
                self.take_totp_code(&user, code).await?
            } else {
                self.risk
                    .counters
                    .take_if(&code_key(user.id), &code_hash(user.id, code), now)
                    .await?
            };
        if good {
            self.risk
                .counters
                .put(
                    &passed_key(user.id),
                    "1",
                    ms(self.risk.policy.step_up_for),
                    now,
                )
                .await?;
            tracing::info!(user = %user.id, "step-up passed");
            return Ok(());
        }
        let verdicts = self.risk_count(Act::StepUpFailed, &who).await;
        if let Some(v) = strongest(&verdicts).filter(|v| v.outcome == Outcome::Block) {
            self.risk_decided(v, who.user).await?;
            return Err(blocked(v.rule.to_owned(), v.reason.clone()));
        }
        Err(ParseError::new(
            "X-Step-Up-Code",
            "the step-up code does not match, has expired or was already used",
        )
        .into())
    }

    /// Sends `user_id` a 6-digit step-up code by SMS (through the SMS queue);
    /// it replaces any earlier one. Answers the masked number and how long
    /// the code is good for.
    pub async fn send_step_up_sms(&self, user_id: UserId) -> AppResult<(String, i64)> {
        let user = self.user(user_id).await?;
        let now = self.now();
        let sent = self
            .risk
            .counters
            .hit(
                &format!("u:{}:sms", user.id),
                None,
                Span {
                    window_ms: SMS_WINDOW_MS,
                    now_ms: now.timestamp_millis(),
                    since_ms: i64::MIN,
                },
            )
            .await;
        if sent > u64::from(SMS_PER_WINDOW) {
            return Err(AppError::StepUpThrottled {
                detail: format!(
                    "at most {SMS_PER_WINDOW} step-up codes per 15 minutes; use the last one sent"
                ),
                retry_after_secs: 60,
            });
        }
        let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
        let ttl = self.risk.policy.code_ttl;
        self.risk
            .counters
            .put(
                &code_key(user.id),
                &code_hash(user.id, &code),
                ms(ttl),
                now.timestamp_millis(),
            )
            .await?;
        let minutes = ttl.num_minutes().max(1);
        self.store
            .sms_enqueue(
                &NewSms {
                    reference: format!("su{}", hex::encode(rand::random::<[u8; 8]>())),
                    // Not caused by an outbox event.
                    event_id: EventId(0),
                    phone: user.phone.clone(),
                    body: format!(
                        "Bangladesh Railway: your verification code is {code}. It expires in {minutes} minutes. Do not share it."
                    ),
                },
                now,
            )
            .await?;
        let masked = mask_phone(&user.phone);
        Ok((masked, ttl.num_seconds()))
    }

    /// The newest decisions (only blocks in force when `active_only`).
    pub async fn risk_decisions(&self, active_only: bool) -> AppResult<Vec<RiskDecision>> {
        Ok(self.store.risk_decisions(active_only, LIST_LIMIT).await?)
    }

    /// Clears the blocks on a subject (`kind`, `value` as listed) and resets
    /// its counters; NotFound when no block on it is in force.
    pub async fn clear_risk(
        &self,
        kind: &str,
        value: &str,
        by: Option<UserId>,
    ) -> AppResult<Vec<crate::domain::RiskDecisionId>> {
        let subject = Subject::parse(kind, value)?;
        let cleared = self.store.clear_risk(&subject, by, self.now()).await?;
        self.risk.counters.forget(&subject_prefix(&subject)).await?;
        if cleared.is_empty() {
            return Err(AppError::NotFound(format!(
                "no block in force on {kind} '{value}'"
            )));
        }
        tracing::info!(subject = %subject.redacted(), cleared = cleared.len(), "risk block cleared");
        Ok(cleared)
    }

    /// Where the risk counters are kept: "memory" or "redis".
    pub fn risk_counters_kind(&self) -> &'static str {
        self.risk.counters_kind()
    }
}

/// The card subject of a payment token: its fingerprint.
pub(crate) fn card_of(token: &crate::store::PaymentToken) -> Subject {
    Subject::card(&token.brand, &token.last4, token.exp_month, token.exp_year)
}

fn verdict(rule: &Rule, subject: &Subject, n: u64) -> Verdict {
    Verdict {
        rule: rule.name,
        subject: subject.clone(),
        outcome: rule.judge(n),
        reason: rule.reason(n),
    }
}

fn blocked(rule: String, reason: String) -> AppError {
    AppError::RiskBlocked { rule, reason }
}

/// `+8801712345678` → `+880171*****78`.
fn mask_phone(phone: &str) -> String {
    let n = phone.chars().count();
    phone
        .chars()
        .enumerate()
        .map(|(i, c)| if i >= 7 && i + 2 < n { '*' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("+8801712345678"), "+880171*****78");
    }
}
