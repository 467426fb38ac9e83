//! Postgres side of `IdentityStore`. Each check-and-record is one conditional
//! UPDATE (the row lock makes a concurrent one wait and re-check its condition),
//! or a transaction that starts with one.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Executor, Row};

use super::rows::*;
use super::{PgStore, db};
use crate::domain::{Role, SessionId, User, UserId};
use crate::store::prelude::*;
use crate::store::{
    Attempt, NewUser, Rotation, SessionState, StoreError, StoreResult, from_ts, ts,
};

impl PgStore {
    async fn locked_until(&self, id: UserId) -> StoreResult<Option<i64>> {
        sqlx::query_scalar::<_, Option<i64>>("SELECT locked_until FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
    }
}

pub(super) async fn user_where<'e, E: Executor<'e, Database = sqlx::Postgres>>(
    ex: E,
    clause: &str,
    arg: impl sqlx::Encode<'e, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'e,
) -> StoreResult<Option<User>> {
    let sql = format!("{USER_COLUMNS} WHERE {clause}");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(arg)
        .fetch_optional(ex)
        .await
        .map_err(db)?
        .map(|r| user_row(&r))
        .transpose()
}

#[async_trait]
impl IdentityStore for PgStore {
    async fn create_user(&self, u: &NewUser) -> StoreResult<User> {
        let row = sqlx::query(
            "INSERT INTO users (name, phone, email, password_hash, role, created_at, nid)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&u.name)
        .bind(&u.phone)
        .bind(&u.email)
        .bind(&u.password_hash)
        .bind(u.role.as_str())
        .bind(ts(u.created_at))
        .bind(u.nid.as_ref().map(|n| n.as_str()))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match db(e) {
            StoreError::Conflict(m) if m.contains("users_nid_key") => StoreError::NidTaken,
            StoreError::Conflict(_) => {
                StoreError::Conflict("a user with this phone or e-mail already exists".into())
            }
            other => other,
        })?;
        let id: UserId = get(&row, "id")?;
        user_where(&self.pool, "id = $1", id)
            .await?
            .ok_or_else(|| StoreError::Backend("inserted user vanished".into()))
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        user_where(&self.pool, "id = $1", id).await
    }

    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        user_where(
            &self.pool,
            "(phone = $1 OR email = $1) AND erased_at IS NULL",
            login.to_owned(),
        )
        .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("{USER_COLUMNS} ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(user_row).collect()
    }

    async fn set_role(&self, id: UserId, role: Role) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
            .bind(id)
            .bind(role.as_str())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {id}")));
        }
        Ok(())
    }

    async fn clear_failed_logins(&self, id: UserId) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL
             WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn set_totp(&self, id: UserId, secret: Option<&str>, enabled: bool) -> StoreResult<()> {
        sqlx::query("UPDATE users SET totp_secret = $2, mfa_enabled = $3 WHERE id = $1")
            .bind(id)
            .bind(secret)
            .bind(enabled)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn insert_refresh_token(
        &self,
        token_hash: &str,
        user_id: UserId,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(ts(expires_at))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn reserve_login_attempt(
        &self,
        id: UserId,
        now: DateTime<Utc>,
        max_failures: i64,
        lock_for: chrono::Duration,
    ) -> StoreResult<Attempt> {
        let granted = sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1
             WHERE id = $1 AND failed_logins < $2
               AND (locked_until IS NULL OR locked_until <= $3)",
        )
        .bind(id)
        .bind(max_failures)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if granted == 1 {
            return Ok(Attempt::Granted);
        }
        // Either locked, or the last allowed attempts are still being checked:
        // those will lock the account if they fail, so answer as locked.
        let until = self
            .locked_until(id)
            .await?
            .map(from_ts)
            .filter(|u| *u > now)
            .unwrap_or(now + lock_for);
        Ok(Attempt::Locked { until })
    }

    async fn release_login_attempt(&self, id: UserId) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET failed_logins = failed_logins - 1 WHERE id = $1 AND failed_logins > 0",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn lock_if_exhausted(
        &self,
        id: UserId,
        now: DateTime<Utc>,
        max_failures: i64,
        lock_for: chrono::Duration,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        sqlx::query(
            "UPDATE users SET locked_until = $3, failed_logins = 0
             WHERE id = $1 AND failed_logins >= $2",
        )
        .bind(id)
        .bind(max_failures)
        .bind(ts(now + lock_for))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(self
            .locked_until(id)
            .await?
            .map(from_ts)
            .filter(|u| *u > now))
    }

    async fn accept_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE users SET last_totp_step = $2
             WHERE id = $1 AND (last_totp_step IS NULL OR last_totp_step < $2)",
        )
        .bind(id)
        .bind(step)
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        Ok(changed == 1)
    }

    async fn start_session(
        &self,
        user_id: UserId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<SessionId> {
        // One statement, so the session and its first token exist together or not at all.
        sqlx::query_scalar(
            "WITH s AS (INSERT INTO sessions (user_id, created_at) VALUES ($1, $2) RETURNING id)
             INSERT INTO refresh_tokens (token_hash, user_id, expires_at, session_id)
             SELECT $3, $1, $4, s.id FROM s RETURNING session_id",
        )
        .bind(user_id)
        .bind(ts(now))
        .bind(token_hash)
        .bind(ts(expires_at))
        .fetch_one(&self.pool)
        .await
        .map_err(db)
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Claim the token first: of concurrent rotations one wins the row; the
        // others wait for its commit, re-check `rotated_at` and find it set.
        let claimed = sqlx::query(
            "UPDATE refresh_tokens SET rotated_at = $2
             WHERE token_hash = $1 AND rotated_at IS NULL
             RETURNING user_id, session_id, expires_at",
        )
        .bind(old_hash)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = claimed else {
            // Unknown, or rotated out before: a replay revokes the family.
            let replayed = sqlx::query(
                "UPDATE sessions SET revoked_at = $2
                 WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)
                   AND revoked_at IS NULL
                 RETURNING id, user_id",
            )
            .bind(old_hash)
            .bind(ts(now))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)?;
            return match replayed {
                Some(r) => Ok(Rotation::Replayed {
                    user_id: get(&r, "user_id")?,
                    session_id: get(&r, "id")?,
                }),
                None => Ok(Rotation::Invalid),
            };
        };
        let user_id: UserId = get(&row, "user_id")?;
        let expires_at: i64 = get(&row, "expires_at")?;
        let session_id = match get::<Option<SessionId>>(&row, "session_id")? {
            Some(s) => s,
            // A token from before sessions existed starts one on its first rotation.
            None => {
                let s: SessionId = sqlx::query_scalar(
                    "INSERT INTO sessions (user_id, created_at) VALUES ($1, $2) RETURNING id",
                )
                .bind(user_id)
                .bind(ts(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
                sqlx::query("UPDATE refresh_tokens SET session_id = $2 WHERE token_hash = $1")
                    .bind(old_hash)
                    .bind(s)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                s
            }
        };
        let live: bool =
            sqlx::query("SELECT revoked_at IS NULL AS live FROM sessions WHERE id = $1")
                .bind(session_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .map(|r| r.try_get::<bool, _>("live"))
                .transpose()
                .map_err(db)?
                .unwrap_or(false);
        if expires_at <= ts(now) || !live {
            tx.rollback().await.map_err(db)?;
            return Ok(Rotation::Invalid);
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, user_id, expires_at, session_id)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(new_hash)
        .bind(user_id)
        .bind(ts(new_expires_at))
        .bind(session_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Rotation::Rotated {
            user_id,
            session_id,
        })
    }

    async fn revoke_session_of(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let revoked = sqlx::query(
            "UPDATE sessions SET revoked_at = $2
             WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)
               AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        // A token from before sessions existed: forgetting it is its logout.
        let forgotten =
            sqlx::query("DELETE FROM refresh_tokens WHERE token_hash = $1 AND session_id IS NULL")
                .bind(token_hash)
                .execute(&self.pool)
                .await
                .map_err(db)?
                .rows_affected();
        Ok(revoked + forgotten > 0)
    }

    async fn session_state(
        &self,
        user_id: UserId,
        session_id: Option<SessionId>,
    ) -> StoreResult<Option<SessionState>> {
        let row = sqlx::query(
            "SELECT u.role,
                    ($2::BIGINT IS NOT NULL AND (s.id IS NULL OR s.revoked_at IS NOT NULL)) AS revoked
             FROM users u LEFT JOIN sessions s ON s.id = $2 AND s.user_id = u.id
             WHERE u.id = $1 AND u.erased_at IS NULL",
        )
        .bind(user_id)
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| {
            let role: String = get(&r, "role")?;
            Ok(SessionState {
                role: role
                    .parse::<Role>()
                    .map_err(|e| StoreError::Backend(e.to_string()))?,
                revoked: get(&r, "revoked")?,
            })
        })
        .transpose()
    }
}
