//! Postgres side of `PersonalStore`: the shared list's statements, an erasure
//! or a retention run in one transaction.

use async_trait::async_trait;
use sqlx::postgres::PgArguments;
use sqlx::{PgConnection, Postgres};

use super::{PgStore, db};
use crate::domain::UserId;
use crate::store::personal::{
    Dialect, PERSONAL_TABLES, PersonalRows, PersonalStore, PurgeReport, Scope, erase_sql,
    export_sql, exported, stale_accounts_sql, upcoming_conflict, upcoming_sql,
};
use crate::store::{StoreError, StoreResult};

const D: Dialect = Dialect::Postgres;

fn bound(sql: String, s: &Scope) -> sqlx::query::Query<'static, Postgres, PgArguments> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(s.user_id)
        .bind(s.nid.clone())
        .bind(s.phone.clone())
        .bind(s.email.clone())
        .bind(s.now)
        .bind(s.cutoff)
}

/// Erases one person's rows (inside the caller's transaction).
async fn erase_person(conn: &mut PgConnection, scope: &Scope) -> StoreResult<()> {
    // An online hold locks its user's row, a sale under an NID takes the
    // NID's advisory lock (migration 0010): take both, so no hold or sale
    // slips in between the check for upcoming trips and the erasure.
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(scope.user_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    if let Some(nid) = &scope.nid {
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended('ticketctl.nid-seats.' || $1, 0))",
        )
        .bind(nid)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    let upcoming: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(upcoming_sql(D)))
        .bind(scope.user_id)
        .bind(scope.nid.clone())
        .bind(scope.phone.clone())
        .bind(scope.email.clone())
        .bind(scope.now)
        .bind(scope.cutoff)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    if upcoming > 0 {
        return Err(upcoming_conflict(upcoming));
    }
    for t in PERSONAL_TABLES {
        if let Some(sql) = erase_sql(D, t, t.rows) {
            bound(sql, scope).execute(&mut *conn).await.map_err(db)?;
        }
    }
    Ok(())
}

#[async_trait]
impl PersonalStore for PgStore {
    async fn personal_export(&self, scope: &Scope) -> StoreResult<Vec<PersonalRows>> {
        let mut out = Vec::with_capacity(PERSONAL_TABLES.len());
        for t in PERSONAL_TABLES {
            let texts: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(export_sql(D, t)))
                .bind(scope.user_id)
                .bind(scope.nid.clone())
                .bind(scope.phone.clone())
                .bind(scope.email.clone())
                .bind(scope.now)
                .bind(scope.cutoff)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
            let rows = texts
                .iter()
                .map(|text| {
                    serde_json::from_str(text)
                        .map(|row| exported(t, row))
                        .map_err(|e| StoreError::Backend(format!("{}: {e}", t.table)))
                })
                .collect::<StoreResult<_>>()?;
            out.push(PersonalRows {
                table: t.table,
                rows,
            });
        }
        Ok(out)
    }

    async fn personal_erase(&self, scope: &Scope) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        erase_person(&mut tx, scope).await?;
        tx.commit().await.map_err(db)
    }

    async fn personal_purge(&self, scope: &Scope) -> StoreResult<PurgeReport> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let mut report = PurgeReport::default();
        for t in PERSONAL_TABLES {
            let Some(sql) = t.old.and_then(|old| erase_sql(D, t, old)) else {
                continue;
            };
            let n = bound(sql, scope)
                .execute(&mut *tx)
                .await
                .map_err(db)?
                .rows_affected();
            if n > 0 {
                report.rows.insert(t.table.to_owned(), n);
            }
        }
        let stale: Vec<(i64, Option<String>, String, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(stale_accounts_sql(D)))
                .bind(scope.user_id)
                .bind(scope.nid.clone())
                .bind(scope.phone.clone())
                .bind(scope.email.clone())
                .bind(scope.now)
                .bind(scope.cutoff)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
        for (id, nid, phone, email) in stale {
            let person = Scope::person(UserId(id), nid, phone, email, scope.now);
            erase_person(&mut tx, &person).await?;
            report.accounts.push(id);
        }
        tx.commit().await.map_err(db)?;
        Ok(report)
    }

    async fn person_key(
        &self,
        user_id: UserId,
        fresh: &str,
        now: i64,
    ) -> StoreResult<Option<String>> {
        sqlx::query(
            "INSERT INTO person_keys (user_id, hmac_key, created_at)
             SELECT id, $2, $3 FROM users WHERE id = $1 AND erased_at IS NULL
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(fresh)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        sqlx::query_scalar("SELECT hmac_key FROM person_keys WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }
}
