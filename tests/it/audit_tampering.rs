//! The audit chain against each kind of tampering, on both backends, done
//! straight in the database: a deleted entry, two entries swapped, an entry
//! rewritten with every later hash recomputed, and the last entries cut off.
//! The last two leave a chain that links up; only an anchor kept outside the
//! database (`ticketctl audit head`) finds them, and these tests show both
//! the limit and the anchor. (An edited entry: tickets_audit_notify.rs.)

use crate::common::booking_flow::book;
use crate::common::db::{exec, scalar};
use crate::common::server::{TestApp, tiny_trip};
use ticketctl::app::audit::AuditAnchor;
use ticketctl::domain::AuditEntryId;
use ticketctl::domain::audit::{GENESIS, chain_hash};

/// A booking's worth of audit entries (at least four), checked intact.
async fn logged(t: &TestApp) -> AuditAnchor {
    let trip = tiny_trip(&t.app, 8).await;
    book(t, trip, 1, 1, "4242424242424242").await;
    t.app.settle().await.unwrap();
    let check = t.app.verify_audit().await.unwrap();
    assert!(check.entries >= 4 && check.intact(), "{check:?}");
    t.app.audit_head().await.unwrap()
}

fn ticketctl(db_url: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ticketctl"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("TICKETCTL_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn a_deleted_entry_breaks_the_link_of_the_next(t: TestApp) {
    logged(&t).await;
    exec(&t.db, "DELETE FROM audit_log WHERE id = 2").await;
    let check = t.app.verify_audit().await.unwrap();
    assert_eq!(check.first_broken, Some(AuditEntryId(3)), "{check:?}");
}

async fn two_swapped_entries_break_the_chain_at_the_first(t: TestApp) {
    logged(&t).await;
    exec(
        &t.db,
        "UPDATE audit_log SET id = 1000 WHERE id = 2;
         UPDATE audit_log SET id = 2 WHERE id = 3;
         UPDATE audit_log SET id = 3 WHERE id = 1000;",
    )
    .await;
    let check = t.app.verify_audit().await.unwrap();
    assert_eq!(check.first_broken, Some(AuditEntryId(2)), "{check:?}");
}

/// Rewrites entry 2 and recomputes every hash from there on, as an attacker
/// who knows the (public) hash rule would.
async fn rewrite_and_rehash(t: &TestApp) {
    let log = t.app.raw_store().audit_log().await.unwrap();
    let mut prev = GENESIS.to_owned();
    let mut sql = String::new();
    for entry in &log {
        let detail = if entry.id == AuditEntryId(2) {
            r#"{"order_id":1,"amount":1}"#.to_owned()
        } else {
            entry.detail.clone()
        };
        let hash = chain_hash(&prev, entry.at, &entry.kind, entry.subject_id, &detail);
        sql.push_str(&format!(
            "UPDATE audit_log SET detail = '{detail}', prev_hash = '{prev}', hash = '{hash}' WHERE id = {};\n",
            entry.id
        ));
        prev = hash;
    }
    exec(&t.db, &sql).await;
}

async fn a_rehashed_log_passes_the_chain_but_not_its_anchor(t: TestApp) {
    let anchor = logged(&t).await;
    rewrite_and_rehash(&t).await;
    assert_eq!(
        scalar(
            &t.db,
            "SELECT COUNT(*) FROM audit_log WHERE detail = '{\"order_id\":1,\"amount\":1}'"
        )
        .await,
        1,
        "the rewrite landed"
    );
    let unanchored = t.app.verify_audit().await.unwrap();
    assert!(
        unanchored.intact(),
        "the chain alone cannot see a re-hash: {unanchored:?}"
    );
    let check = t.app.verify_audit_against(Some(&anchor)).await.unwrap();
    assert!(
        check.anchor_mismatch && check.first_broken.is_none(),
        "{check:?}"
    );
    assert_eq!(
        check.detail,
        format!(
            "entry {} no longer has the anchored hash: the log was rewritten and re-hashed",
            anchor.entries
        )
    );
    let (ok, out) = ticketctl(
        t.db.url(),
        &["audit", "verify", "--anchor", &anchor.to_string()],
    );
    assert!(!ok && out.contains("audit log TAMPERED: entry"), "{out}");
}

async fn a_log_cut_off_at_the_end_passes_the_chain_but_not_its_anchor(t: TestApp) {
    let anchor = logged(&t).await;
    exec(
        &t.db,
        "DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)",
    )
    .await;
    let unanchored = t.app.verify_audit().await.unwrap();
    assert!(
        unanchored.intact(),
        "the chain alone cannot see a cut tail: {unanchored:?}"
    );
    let check = t.app.verify_audit_against(Some(&anchor)).await.unwrap();
    assert!(check.anchor_mismatch, "{check:?}");
    assert_eq!(
        check.detail,
        format!(
            "the log has {} entries but the anchor recorded {}: entries were cut off the end",
            anchor.entries - 1,
            anchor.entries
        )
    );
}

/// An anchor stays valid while the log grows honestly.
async fn an_anchor_still_matches_after_more_entries_are_appended(t: TestApp) {
    let anchor = logged(&t).await;
    let trip = t
        .app
        .raw_store()
        .trips_between(
            ticketctl::domain::ServiceDate::today_at(crate::common::server::suite_now()),
            ticketctl::domain::ServiceDate::today_at(crate::common::server::suite_now())
                .add_days(2),
        )
        .await
        .unwrap()[0]
        .id;
    book(&t, trip, 2, 1, "4242424242424242").await;
    t.app.settle().await.unwrap();
    let check = t.app.verify_audit_against(Some(&anchor)).await.unwrap();
    assert!(
        check.intact() && check.entries > anchor.entries,
        "{check:?}"
    );
    let (ok, out) = ticketctl(t.db.url(), &["audit", "head"]);
    assert!(ok, "{out}");
    // The anchor is the one line that looks like one (a test run on a shifted
    // clock also logs a warning about it).
    let printed = out
        .lines()
        .find_map(|line| AuditAnchor::parse(line.trim()).ok())
        .unwrap_or_else(|| panic!("no anchor in {out:?}"));
    assert_eq!(printed, t.app.audit_head().await.unwrap());
    let (ok, out) = ticketctl(
        t.db.url(),
        &["audit", "verify", "--anchor", &anchor.to_string()],
    );
    assert!(ok && out.contains("matching the anchor"), "{out}");
}

on_both_backends!(
    a_deleted_entry_breaks_the_link_of_the_next,
    two_swapped_entries_break_the_chain_at_the_first,
    a_rehashed_log_passes_the_chain_but_not_its_anchor,
    a_log_cut_off_at_the_end_passes_the_chain_but_not_its_anchor,
    an_anchor_still_matches_after_more_entries_are_appended,
);
