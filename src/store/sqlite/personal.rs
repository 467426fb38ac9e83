//! SQLite side of `PersonalStore`: the shared list's statements, run alone on
//! the writer (outside a batch) so the write-ahead log can be emptied right
//! after an erasure commits.

use async_trait::async_trait;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, db};
use crate::domain::UserId;
use crate::store::StoreResult;
use crate::store::personal::{
    Dialect, PERSONAL_TABLES, PersonalRows, PersonalStore, PurgeReport, Scope, erase_sql,
    export_sql, exported, stale_accounts_sql, upcoming_conflict, upcoming_sql,
};

const D: Dialect = Dialect::Sqlite;

fn bind(s: &Scope) -> impl rusqlite::Params + '_ {
    (
        s.user_id,
        s.nid.as_deref(),
        s.phone.as_deref(),
        s.email.as_deref(),
        s.now,
        s.cutoff,
    )
}

fn json_of(v: ValueRef<'_>) -> serde_json::Value {
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => f.into(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
        ValueRef::Blob(b) => hex::encode(b).into(),
    }
}

fn export(conn: &Connection, scope: &Scope) -> StoreResult<Vec<PersonalRows>> {
    PERSONAL_TABLES
        .iter()
        .map(|t| {
            let mut stmt = conn.prepare(&export_sql(D, t)).map_err(db)?;
            let names: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
            let rows = stmt
                .query_map(bind(scope), |r| {
                    let mut row = serde_json::Map::new();
                    for (i, name) in names.iter().enumerate() {
                        row.insert(name.clone(), json_of(r.get_ref(i)?));
                    }
                    Ok(exported(t, row.into()))
                })
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            Ok(PersonalRows {
                table: t.table,
                rows,
            })
        })
        .collect()
}

/// Erases one person's rows (inside the caller's transaction).
fn erase_person(conn: &Connection, scope: &Scope) -> StoreResult<()> {
    let upcoming: i64 = conn
        .query_row(&upcoming_sql(D), bind(scope), |r| r.get(0))
        .map_err(db)?;
    if upcoming > 0 {
        return Err(upcoming_conflict(upcoming));
    }
    for t in PERSONAL_TABLES {
        if let Some(sql) = erase_sql(D, t, t.rows) {
            conn.execute(&sql, bind(scope)).map_err(db)?;
        }
    }
    Ok(())
}

/// Empties the write-ahead log into the database file: the log still holds the
/// pages as they were before the erasure.
fn truncate_wal(conn: &Connection) -> StoreResult<()> {
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .map_err(db)?;
    if busy != 0 {
        tracing::warn!(
            "the write-ahead log could not be emptied after an erasure (readers busy); it is on the next checkpoint"
        );
    }
    Ok(())
}

#[async_trait]
impl PersonalStore for SqliteStore {
    async fn personal_export(&self, scope: &Scope) -> StoreResult<Vec<PersonalRows>> {
        let scope = scope.clone();
        self.engine.read(move |conn| export(conn, &scope)).await
    }

    async fn personal_erase(&self, scope: &Scope) -> StoreResult<()> {
        let scope = scope.clone();
        self.engine
            .exclusive(move |conn| {
                let tx = conn.transaction().map_err(db)?;
                erase_person(&tx, &scope)?;
                tx.commit().map_err(db)?;
                truncate_wal(conn)
            })
            .await
    }

    async fn personal_purge(&self, scope: &Scope) -> StoreResult<PurgeReport> {
        let scope = scope.clone();
        self.engine
            .exclusive(move |conn| {
                let tx = conn.transaction().map_err(db)?;
                let mut report = PurgeReport::default();
                for t in PERSONAL_TABLES {
                    let Some(sql) = t.old.and_then(|old| erase_sql(D, t, old)) else {
                        continue;
                    };
                    let n = tx.execute(&sql, bind(&scope)).map_err(db)?;
                    if n > 0 {
                        report.rows.insert(t.table.to_owned(), n as u64);
                    }
                }
                let stale: Vec<(i64, Option<String>, String, String)> = tx
                    .prepare(&stale_accounts_sql(D))
                    .map_err(db)?
                    .query_map(bind(&scope), |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })
                    .map_err(db)?
                    .collect::<Result<_, _>>()
                    .map_err(db)?;
                for (id, nid, phone, email) in stale {
                    let person = Scope::person(UserId(id), nid, phone, email, scope.now);
                    erase_person(&tx, &person)?;
                    report.accounts.push(id);
                }
                tx.commit().map_err(db)?;
                truncate_wal(conn)?;
                Ok(report)
            })
            .await
    }

    async fn person_key(
        &self,
        user_id: UserId,
        fresh: &str,
        now: i64,
    ) -> StoreResult<Option<String>> {
        let fresh = fresh.to_owned();
        self.engine
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO person_keys (user_id, hmac_key, created_at)
                     SELECT id, ?2, ?3 FROM users WHERE id = ?1 AND erased_at IS NULL
                     ON CONFLICT (user_id) DO NOTHING",
                )
                .map_err(db)?
                .execute(params![user_id, fresh, now])
                .map_err(db)?;
                conn.prepare_cached("SELECT hmac_key FROM person_keys WHERE user_id = ?1")
                    .map_err(db)?
                    .query_row(params![user_id], |r| r.get(0))
                    .optional()
                    .map_err(db)
            })
            .await
    }
}
