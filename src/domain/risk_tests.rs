//! The velocity rules, their windows and their parsing, without I/O.

use super::*;

#[test]
fn a_window_counts_what_is_inside_and_forgets_the_rest() {
    let mut w = SlidingWindow::default();
    let none = i64::MIN;
    assert_eq!(w.hit("a".into(), 1_000, 60_000, none), 1);
    assert_eq!(w.hit("b".into(), 30_000, 60_000, none), 2);
    assert_eq!(w.hit("c".into(), 60_999, 60_000, none), 3);
    // At 61 000 the entry at 1 000 is exactly a window old: out.
    assert_eq!(w.count(61_000, 60_000, none), 2);
    // Cleared at 40 000: only what came later counts.
    assert_eq!(w.count(61_000, 60_000, 40_000), 1);
    // A distinct value seen again counts once, at its latest time.
    assert_eq!(w.hit("b".into(), 62_000, 60_000, none), 2);
    assert_eq!(w.count(91_000, 60_000, none), 2);
    assert_eq!(w.count(200_000, 60_000, none), 0);
    assert!(w.is_empty());
}

#[test]
fn a_rule_trips_on_the_act_past_its_limit() {
    let mut p = RiskPolicy::default();
    p.set("holds_per_account=3/1m:block").unwrap();
    let r = p.rule("holds_per_account").unwrap();
    assert_eq!(r.judge(3), Outcome::Allow);
    assert_eq!(r.judge(4), Outcome::Block);
    assert_eq!(r.reason(4), "4 holds per account in 1m (limit 3)");
    p.set("holds_per_account=off").unwrap();
    assert_eq!(
        p.rule("holds_per_account").unwrap().judge(1000),
        Outcome::Allow
    );
    assert_eq!(p.counting(Act::Hold).count(), 1, "holds_per_nid only");
}

#[test]
fn settings_parse_or_say_why_not() {
    let mut p = RiskPolicy::default();
    p.set("cards_per_account=2/1d").unwrap();
    let r = p.rule("cards_per_account").unwrap();
    assert_eq!(
        (r.limit, r.window, r.outcome),
        (Some(2), chrono::Duration::days(1), Outcome::StepUp)
    );
    for bad in [
        "nope=1/1m:block",
        "holds_per_account",
        "holds_per_account=0/1m:block",
        "holds_per_account=5/1y:block",
        "holds_per_account=5/8d:block",
        "holds_per_account=5/1m:maybe",
        "holds_per_account=x/1m",
    ] {
        assert!(p.set(bad).is_err(), "{bad}");
    }
    assert!(
        p.specs()
            .contains(&"cards_per_account=2/1d:step-up".to_owned())
    );
}

#[test]
fn the_strongest_verdict_wins() {
    let v = |rule, outcome| Verdict {
        rule,
        subject: Subject::account(UserId(1)),
        outcome,
        reason: String::new(),
    };
    let all = [
        v("a", Outcome::Allow),
        v("b", Outcome::StepUp),
        v("c", Outcome::Block),
        v("d", Outcome::StepUp),
    ];
    assert_eq!(strongest(&all).unwrap().rule, "c");
    assert_eq!(strongest(&all[..2]).unwrap().rule, "b");
    assert!(strongest(&all[..1]).is_none());
}

#[test]
fn subjects_log_without_their_value() {
    let nid = Nid::parse("5512345678901").unwrap();
    let s = Subject::nid(&nid);
    assert_eq!(s.key(), "nid:5512345678901");
    assert!(s.redacted().starts_with("nid#"));
    assert!(!s.redacted().contains("5512345678901"));
    assert_eq!(
        Subject::card("VISA", "4242", 3, 2030).value(),
        "visa-4242-03/2030"
    );
    assert!(Subject::parse("nid", "").is_err());
    assert!(Subject::parse("planet", "x").is_err());
    assert_eq!(
        Subject::parse("account", " 42 ").unwrap(),
        Subject::account(UserId(42))
    );
}
