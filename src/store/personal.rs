//! Personal data: where it lives, and what export, erasure and retention do
//! to each place. One list ([`PERSONAL_TABLES`]) serves both backends: each
//! entry says which rows of a table are a person's (or old enough to go), what
//! erasing them means, and which columns an export leaves out. A new table
//! with personal data is one more entry here.
//!
//! The conditions are SQL over the table (as `t`) and one row `p` of
//! parameters: `p.user_id`, `p.nid`, `p.phone`, `p.email` (the person),
//! `p.now_ts` and `p.cutoff` (retention: rows from before it). A NULL
//! parameter matches nothing, so one condition serves a person's erasure and
//! retention alike. Both backends run the same text; only how `p` is bound
//! differs ([`with_params`]).

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::UserId;

/// The password hash of an erased account: no password ever matches it, and
/// login does not look erased accounts up at all.
macro_rules! erased_hash {
    () => {
        "!erased"
    };
}
pub const ERASED_PASSWORD_HASH: &str = erased_hash!();

/// The holds that are the person's own: bought under their NID (online, or at
/// a counter), or held by their account for themselves (a clerk's holds for
/// counter buyers are the buyers', not the clerk's).
macro_rules! person_hold {
    ($h:literal) => {
        concat!(
            "(",
            $h,
            ".nid = p.nid OR (",
            $h,
            ".user_id = p.user_id AND NOT EXISTS (SELECT 1 FROM counter_sales cs WHERE cs.hold_id = ",
            $h,
            ".id)))"
        )
    };
}

/// Ids of the person's orders: those on their holds.
macro_rules! person_orders {
    () => {
        concat!(
            "(SELECT o.id FROM orders o JOIN holds h ON h.id = o.hold_id WHERE ",
            person_hold!("h"),
            ")"
        )
    };
}

/// Ids of orders whose trip left before the cutoff.
macro_rules! old_orders {
    () => {
        "(SELECT o.id FROM orders o JOIN trips tr ON tr.id = o.trip_id WHERE tr.departs_at < p.cutoff)"
    };
}

/// What erasure (and retention) does to a table's matching rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erase {
    /// `UPDATE … SET` this.
    Set(&'static str),
    Delete,
    /// Kept as it is (it holds no personal data, only links to it); exported.
    Keep,
}

/// One place personal data lives.
#[derive(Debug, Clone, Copy)]
pub struct PersonalTable {
    pub table: &'static str,
    /// Which rows are the person's.
    pub rows: &'static str,
    /// Which rows retention anonymises (`p.cutoff` set, no person), if any.
    pub old: Option<&'static str>,
    pub erase: Erase,
    /// Columns an export leaves out: secrets, not data about the person.
    pub withheld: &'static [&'static str],
}

/// Every table with personal data, in the order erasure visits them: a table
/// whose condition reads another table's personal columns comes before it.
pub const PERSONAL_TABLES: &[PersonalTable] = &[
    PersonalTable {
        table: "audit_log",
        rows: concat!(
            "(t.kind LIKE 'order.%' AND t.subject_id IN ",
            person_orders!(),
            ") OR (t.kind = 'ticket.issued' AND t.subject_id IN (SELECT tk.id FROM tickets tk WHERE tk.order_id IN ",
            person_orders!(),
            ")) OR (t.kind = 'hold.expired' AND t.subject_id IN (SELECT h.id FROM holds h WHERE ",
            person_hold!("h"),
            "))"
        ),
        old: None,
        // The chain never changes; its entries hold ids, never personal data.
        erase: Erase::Keep,
        withheld: &[],
    },
    PersonalTable {
        table: "tickets",
        rows: concat!(
            "t.order_id IN ",
            person_orders!(),
            " OR EXISTS (SELECT 1 FROM order_passengers op WHERE op.order_id = t.order_id AND op.seq = t.passenger_seq AND op.nid = p.nid)"
        ),
        old: Some(concat!("t.payload <> '' AND t.order_id IN ", old_orders!())),
        // The signed payload names the passenger.
        erase: Erase::Set("payload = ''"),
        withheld: &[],
    },
    PersonalTable {
        table: "order_passengers",
        rows: concat!("t.nid = p.nid OR t.order_id IN ", person_orders!()),
        old: Some(concat!(
            "(t.name <> 'Erased' OR t.nid IS NOT NULL) AND t.order_id IN ",
            old_orders!()
        )),
        erase: Erase::Set("name = 'Erased', nid = NULL"),
        withheld: &[],
    },
    PersonalTable {
        table: "idempotency_keys",
        rows: concat!("t.user_id = p.user_id OR t.order_id IN ", person_orders!()),
        old: Some("t.created_at < p.cutoff"),
        // The stored answer repeats the order, passengers and all.
        erase: Erase::Delete,
        withheld: &["request_hash", "response"],
    },
    PersonalTable {
        table: "sms_messages",
        rows: concat!(
            "t.phone = p.phone OR t.phone IN (SELECT cs.phone FROM counter_sales cs WHERE cs.nid = p.nid)",
            " OR t.event_id IN (SELECT e.id FROM outbox e WHERE (e.kind LIKE 'order.%' AND e.subject_id IN ",
            person_orders!(),
            ") OR (e.kind = 'ticket.issued' AND e.subject_id IN (SELECT tk.id FROM tickets tk WHERE tk.order_id IN ",
            person_orders!(),
            ")))"
        ),
        old: Some("t.status <> 'pending' AND t.body <> '' AND t.created_at < p.cutoff"),
        // A message not sent yet never will be: nobody to send it to.
        erase: Erase::Set(
            "phone = 'erased', body = '', last_error = NULL, \
             status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END",
        ),
        withheld: &[],
    },
    PersonalTable {
        table: "counter_sales",
        rows: "t.nid = p.nid OR t.phone = p.phone",
        old: Some(
            "(t.phone <> 'erased' OR t.nid IS NOT NULL) AND t.hold_id IN \
             (SELECT h.id FROM holds h JOIN trips tr ON tr.id = h.trip_id WHERE tr.departs_at < p.cutoff)",
        ),
        erase: Erase::Set("phone = 'erased', nid = NULL"),
        withheld: &[],
    },
    PersonalTable {
        table: "payment_tokens",
        rows: "t.user_id = p.user_id",
        old: None,
        // Token, brand and last four identify nobody without the gateway.
        erase: Erase::Keep,
        withheld: &[],
    },
    PersonalTable {
        table: "nid_flags",
        rows: "t.nid = p.nid",
        old: Some("t.flagged_at IS NULL AND t.updated_at < p.cutoff"),
        // Keyed by the NID itself: nothing of it can stay.
        erase: Erase::Delete,
        withheld: &[],
    },
    PersonalTable {
        table: "refresh_tokens",
        rows: "t.user_id = p.user_id",
        old: None,
        erase: Erase::Delete,
        withheld: &["token_hash"],
    },
    PersonalTable {
        table: "sessions",
        rows: "t.user_id = p.user_id",
        old: None,
        erase: Erase::Set("revoked_at = COALESCE(revoked_at, (SELECT now_ts FROM p))"),
        withheld: &[],
    },
    PersonalTable {
        table: "orders",
        rows: concat!("t.id IN ", person_orders!()),
        old: None,
        // Amounts, statuses and refunds stay: the ledgers and invariants need them.
        erase: Erase::Keep,
        withheld: &[],
    },
    PersonalTable {
        table: "wallet_payments",
        rows: concat!("t.order_id IN ", person_orders!()),
        old: Some(concat!(
            "t.number <> 'erased' AND t.order_id IN ",
            old_orders!()
        )),
        // The wallet number is the payer's; the payment id and state stay for
        // reconciliation with the provider.
        erase: Erase::Set("number = 'erased'"),
        withheld: &[],
    },
    PersonalTable {
        table: "risk_decisions",
        rows: "t.user_id = p.user_id OR (t.subject_kind = 'nid' AND t.subject = p.nid) \
               OR (t.subject_kind = 'phone' AND t.subject = p.phone) \
               OR (t.subject_kind = 'account' AND t.subject = CAST(p.user_id AS TEXT))",
        // This table's times are milliseconds.
        old: Some("t.created_at < p.cutoff * 1000"),
        // A step-up or block names the person's NID or phone in plain text for the
        // admin; once the person is gone there is nobody left to act on.
        erase: Erase::Delete,
        withheld: &[],
    },
    PersonalTable {
        table: "holds",
        rows: person_hold!("t"),
        old: Some(
            "(t.nid IS NOT NULL OR t.client_addr IS NOT NULL) AND t.trip_id IN \
             (SELECT tr.id FROM trips tr WHERE tr.departs_at < p.cutoff)",
        ),
        erase: Erase::Set("nid = NULL, client_addr = NULL"),
        withheld: &[],
    },
    PersonalTable {
        table: "person_keys",
        rows: "t.user_id = p.user_id",
        old: None,
        // Destroying the key is what unlinks the person's pseudonyms.
        erase: Erase::Delete,
        withheld: &["hmac_key"],
    },
    PersonalTable {
        table: "users",
        rows: "t.id = p.user_id",
        old: None,
        erase: Erase::Set(concat!(
            "name = 'Erased user', phone = 'erased:' || id, email = 'erased-' || id || '@erased.invalid', ",
            "nid = NULL, password_hash = '",
            erased_hash!(),
            "', totp_secret = NULL, mfa_enabled = (1 = 0), last_totp_step = NULL, ",
            "failed_logins = 0, locked_until = NULL, erased_at = (SELECT now_ts FROM p)"
        )),
        withheld: &["password_hash", "totp_secret", "last_totp_step"],
    },
];

/// Live trips of the person: holds still active, or orders not ended, on
/// trips that have not left yet, as buyer or as a named passenger. Erasure is
/// refused while there are any (a ticket must name its passenger at the gate,
/// and a cancellation or refund needs the account).
pub const UPCOMING_TRIPS: &str = concat!(
    "SELECT (SELECT COUNT(*) FROM holds h JOIN trips tr ON tr.id = h.trip_id WHERE ",
    person_hold!("h"),
    " AND tr.departs_at >= p.now_ts AND (h.status = 'active' OR EXISTS (SELECT 1 FROM orders o WHERE o.hold_id = h.id",
    " AND o.status IN ('pending', 'reserved', 'paid', 'confirmed'))))",
    " + (SELECT COUNT(*) FROM order_passengers op JOIN orders o ON o.id = op.order_id JOIN trips tr ON tr.id = o.trip_id",
    " WHERE op.nid = p.nid AND tr.departs_at >= p.now_ts AND o.status IN ('pending', 'reserved', 'paid', 'confirmed'))",
    " FROM p"
);

/// Passenger accounts with nothing since the cutoff: created before it, no
/// sign-in since, no trip (bought or travelled) after it. Staff are never
/// erased by retention.
pub const STALE_ACCOUNTS: &str = "SELECT u.id, u.nid, u.phone, u.email FROM users u, p \
     WHERE u.role = 'passenger' AND u.erased_at IS NULL AND u.created_at < p.cutoff \
     AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = u.id AND s.created_at >= p.cutoff) \
     AND NOT EXISTS (SELECT 1 FROM holds h JOIN trips tr ON tr.id = h.trip_id \
         WHERE (h.user_id = u.id OR h.nid = u.nid) AND (tr.departs_at >= p.cutoff OR h.created_at >= p.cutoff)) \
     ORDER BY u.id";

/// Whose data, or how old: the parameters `p` of every condition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub user_id: Option<i64>,
    pub nid: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub now: i64,
    pub cutoff: Option<i64>,
}

impl Scope {
    /// A person: an account with its identifying fields.
    pub fn person(
        user_id: UserId,
        nid: Option<String>,
        phone: String,
        email: String,
        now: i64,
    ) -> Scope {
        Scope {
            user_id: Some(user_id.get()),
            nid,
            phone: Some(phone),
            email: Some(email),
            now,
            cutoff: None,
        }
    }

    /// Everything from before `cutoff`, nobody in particular.
    pub fn older_than(cutoff: i64, now: i64) -> Scope {
        Scope {
            now,
            cutoff: Some(cutoff),
            ..Scope::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// The `WITH p AS (…)` that binds a [`Scope`] (parameters 1–6, in its field order).
pub(crate) fn with_params(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => {
            "WITH p (user_id, nid, phone, email, now_ts, cutoff) AS (SELECT ?1, ?2, ?3, ?4, ?5, ?6) "
        }
        Dialect::Postgres => {
            "WITH p AS (SELECT $1::BIGINT AS user_id, $2::TEXT AS nid, $3::TEXT AS phone, \
             $4::TEXT AS email, $5::BIGINT AS now_ts, $6::BIGINT AS cutoff) "
        }
    }
}

/// The statement reading a table's rows of the person: every column on
/// SQLite, one JSON text per row on Postgres.
pub(crate) fn export_sql(d: Dialect, t: &PersonalTable) -> String {
    let select = match d {
        Dialect::Sqlite => "t.*",
        Dialect::Postgres => "row_to_json(t)::TEXT",
    };
    format!(
        "{}SELECT {select} FROM {} AS t, p WHERE {}",
        with_params(d),
        t.table,
        t.rows
    )
}

/// The statement erasing the rows `condition` picks (the person's, or the
/// old ones); `None` for a table that is kept.
pub(crate) fn erase_sql(d: Dialect, t: &PersonalTable, condition: &str) -> Option<String> {
    let with = with_params(d);
    let table = t.table;
    match t.erase {
        Erase::Set(set) => Some(format!(
            "{with}UPDATE {table} AS t SET {set} WHERE EXISTS (SELECT 1 FROM p WHERE {condition})"
        )),
        Erase::Delete => Some(format!(
            "{with}DELETE FROM {table} AS t WHERE EXISTS (SELECT 1 FROM p WHERE {condition})"
        )),
        Erase::Keep => None,
    }
}

pub(crate) fn upcoming_sql(d: Dialect) -> String {
    format!("{}{UPCOMING_TRIPS}", with_params(d))
}

pub(crate) fn stale_accounts_sql(d: Dialect) -> String {
    format!("{}{STALE_ACCOUNTS}", with_params(d))
}

/// A row as exported: withheld columns removed.
pub(crate) fn exported(t: &PersonalTable, mut row: serde_json::Value) -> serde_json::Value {
    if let Some(map) = row.as_object_mut() {
        for c in t.withheld {
            map.remove(*c);
        }
    }
    row
}

/// One table's rows of a person, as exported.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonalRows {
    pub table: &'static str,
    pub rows: Vec<serde_json::Value>,
}

/// What one retention run changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PurgeReport {
    /// Rows anonymised or deleted per table (tables with none left out).
    pub rows: std::collections::BTreeMap<String, u64>,
    /// Passenger accounts erased for having nothing since the cutoff.
    pub accounts: Vec<i64>,
}

#[async_trait]
pub trait PersonalStore: Send + Sync {
    /// Every row of every [`PERSONAL_TABLES`] entry that is the person's.
    async fn personal_export(&self, scope: &Scope) -> StoreResult<Vec<PersonalRows>>;

    /// Erases the person's rows, all or none in one transaction; refused
    /// (`Conflict`) while they have upcoming trips (checked in the same
    /// transaction). On SQLite the write-ahead log is emptied afterwards, so
    /// the old pages are gone from disk too (deleted content is zeroed).
    async fn personal_erase(&self, scope: &Scope) -> StoreResult<()>;

    /// Retention: anonymises rows from before `scope.cutoff` and erases stale
    /// passenger accounts, in one transaction.
    async fn personal_purge(&self, scope: &Scope) -> StoreResult<PurgeReport>;

    /// The person's pseudonym key, made from `fresh` if they have none yet;
    /// `None` for an erased account (its key is gone for good) or none at all.
    async fn person_key(
        &self,
        user_id: UserId,
        fresh: &str,
        now: i64,
    ) -> StoreResult<Option<String>>;
}

/// The conflict an erasure with upcoming trips is refused with.
pub(crate) fn upcoming_conflict(n: i64) -> super::StoreError {
    super::StoreError::Conflict(format!(
        "{n} upcoming trip(s) are still booked or held: cancel them (or wait until they have \
         left) before erasing the account"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_listed_once_and_the_statements_bind_one_scope() {
        let mut names: Vec<_> = PERSONAL_TABLES.iter().map(|t| t.table).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PERSONAL_TABLES.len());
        for t in PERSONAL_TABLES {
            let sql = export_sql(Dialect::Postgres, t);
            assert!(sql.contains("$6::BIGINT"), "{sql}");
            if let Some(old) = t.old {
                assert!(erase_sql(Dialect::Sqlite, t, old).is_some(), "{}", t.table);
            }
        }
        // Erasure reads holds' NIDs for the tables before it, so holds and
        // users come last but for the key.
        let pos = |n: &str| PERSONAL_TABLES.iter().position(|t| t.table == n).unwrap();
        assert!(pos("order_passengers") < pos("holds"));
        assert!(pos("counter_sales") > pos("sms_messages"));
        assert!(pos("holds") < pos("users"));
    }

    #[test]
    fn exports_leave_secrets_out() {
        let users = PERSONAL_TABLES.iter().find(|t| t.table == "users").unwrap();
        let row = exported(
            users,
            serde_json::json!({ "name": "A", "password_hash": "x", "totp_secret": "y" }),
        );
        assert_eq!(row, serde_json::json!({ "name": "A" }));
    }
}
