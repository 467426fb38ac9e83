//! SQLite side of `IdentityStore`. Every method runs as one command on the
//! writer thread, so its read and its write cannot be interleaved with another's.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::*;
use super::{SqliteStore, db};
use crate::domain::{Role, SessionId, User, UserId};
use crate::store::prelude::*;
use crate::store::{
    Attempt, NewUser, Rotation, SessionState, StoreError, StoreResult, from_ts, ts,
};

fn locked_until(conn: &Connection, id: UserId) -> StoreResult<Option<i64>> {
    conn.prepare_cached("SELECT locked_until FROM users WHERE id = ?1")
        .map_err(db)?
        .query_row([id], |r| r.get::<_, Option<i64>>(0))
        .optional()
        .map_err(db)?
        .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
}

fn new_session(conn: &Connection, user_id: UserId, now: DateTime<Utc>) -> StoreResult<SessionId> {
    conn.prepare_cached("INSERT INTO sessions (user_id, created_at) VALUES (?1, ?2) RETURNING id")
        .map_err(db)?
        .query_row(params![user_id, ts(now)], |r| r.get(0))
        .map_err(db)
}

fn insert_token(
    conn: &Connection,
    hash: &str,
    user_id: UserId,
    session_id: SessionId,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO refresh_tokens (token_hash, user_id, expires_at, session_id)
         VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(db)?
    .execute(params![hash, user_id, ts(expires_at), session_id])
    .map_err(db)?;
    Ok(())
}

fn revoke(conn: &Connection, session_id: SessionId, now: DateTime<Utc>) -> StoreResult<bool> {
    let changed = conn
        .prepare_cached("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")
        .map_err(db)?
        .execute(params![session_id, ts(now)])
        .map_err(db)?;
    Ok(changed == 1)
}

fn is_revoked(conn: &Connection, session_id: SessionId) -> StoreResult<bool> {
    let revoked: Option<Option<i64>> = conn
        .prepare_cached("SELECT revoked_at FROM sessions WHERE id = ?1")
        .map_err(db)?
        .query_row([session_id], |r| r.get(0))
        .optional()
        .map_err(db)?;
    Ok(!matches!(revoked, Some(None)))
}

fn rotate(
    conn: &Connection,
    old_hash: &str,
    new_hash: &str,
    new_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<Rotation> {
    let row: Option<(UserId, Option<SessionId>, i64, Option<i64>)> = conn
        .prepare_cached(
            "SELECT user_id, session_id, expires_at, rotated_at FROM refresh_tokens
             WHERE token_hash = ?1",
        )
        .map_err(db)?
        .query_row([old_hash], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()
        .map_err(db)?;
    let Some((user_id, session_id, expires_at, rotated_at)) = row else {
        return Ok(Rotation::Invalid);
    };
    // A token from before sessions existed starts one on its first rotation.
    let session_id = match session_id {
        Some(s) => s,
        None => new_session(conn, user_id, now)?,
    };
    if rotated_at.is_some() {
        return Ok(if revoke(conn, session_id, now)? {
            Rotation::Replayed {
                user_id,
                session_id,
            }
        } else {
            Rotation::Invalid
        });
    }
    if expires_at <= ts(now) || is_revoked(conn, session_id)? {
        return Ok(Rotation::Invalid);
    }
    conn.prepare_cached(
        "UPDATE refresh_tokens SET rotated_at = ?2, session_id = ?3 WHERE token_hash = ?1",
    )
    .map_err(db)?
    .execute(params![old_hash, ts(now), session_id])
    .map_err(db)?;
    insert_token(conn, new_hash, user_id, session_id, new_expires_at)?;
    Ok(Rotation::Rotated {
        user_id,
        session_id,
    })
}

pub(super) fn user_where(
    conn: &Connection,
    clause: &str,
    arg: impl rusqlite::ToSql,
) -> StoreResult<Option<User>> {
    conn.prepare_cached(&format!("{USER_COLUMNS} WHERE {clause}"))
        .map_err(db)?
        .query_row([arg], user_row)
        .optional()
        .map_err(db)
}

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn create_user(&self, u: &NewUser) -> StoreResult<User> {
        let u = u.clone();
        self.engine
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO users (name, phone, email, password_hash, role, created_at, nid)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        u.name,
                        u.phone,
                        u.email,
                        u.password_hash,
                        u.role.as_str(),
                        ts(u.created_at),
                        u.nid.as_ref().map(|n| n.as_str())
                    ],
                )
                .map_err(|e| match db(e) {
                    // "UNIQUE constraint failed: users.nid"
                    StoreError::Conflict(m) if m.contains("users.nid") => StoreError::NidTaken,
                    StoreError::Conflict(_) => StoreError::Conflict(
                        "a user with this phone or e-mail already exists".into(),
                    ),
                    other => other,
                })?;
                user_where(conn, "id = ?1", conn.last_insert_rowid())?
                    .ok_or_else(|| StoreError::Backend("inserted user vanished".into()))
            })
            .await
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.engine
            .read(move |conn| user_where(conn, "id = ?1", id))
            .await
    }

    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        let login = login.to_owned();
        self.engine
            .read(move |conn| {
                user_where(
                    conn,
                    "(phone = ?1 OR email = ?1) AND erased_at IS NULL",
                    login,
                )
            })
            .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.engine
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached(&format!("{USER_COLUMNS} ORDER BY id"))
                    .map_err(db)?;
                let rows = stmt.query_map([], user_row).map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            })
            .await
    }

    async fn set_role(&self, id: UserId, role: Role) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                match conn
                    .execute(
                        "UPDATE users SET role = ?2 WHERE id = ?1",
                        params![id, role.as_str()],
                    )
                    .map_err(db)?
                {
                    0 => Err(StoreError::NotFound(format!("user {id}"))),
                    _ => Ok(()),
                }
            })
            .await
    }

    async fn clear_failed_logins(&self, id: UserId) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                conn.execute(
                    "UPDATE users SET failed_logins = 0, locked_until = NULL
                     WHERE id = ?1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
                    [id],
                )
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn set_totp(&self, id: UserId, secret: Option<&str>, enabled: bool) -> StoreResult<()> {
        let secret = secret.map(str::to_owned);
        self.engine
            .write(move |conn| {
                conn.execute(
                    "UPDATE users SET totp_secret = ?2, mfa_enabled = ?3 WHERE id = ?1",
                    params![id, secret, enabled],
                )
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn insert_refresh_token(
        &self,
        token_hash: &str,
        user_id: UserId,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.engine
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO refresh_tokens (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
                    params![token_hash, user_id, ts(expires_at)],
                )
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn reserve_login_attempt(
        &self,
        id: UserId,
        now: DateTime<Utc>,
        max_failures: i64,
        lock_for: chrono::Duration,
    ) -> StoreResult<Attempt> {
        self.engine
            .write(move |conn| {
                let granted = conn
                    .prepare_cached(
                        "UPDATE users SET failed_logins = failed_logins + 1
                         WHERE id = ?1 AND failed_logins < ?2
                           AND (locked_until IS NULL OR locked_until <= ?3)",
                    )
                    .map_err(db)?
                    .execute(params![id, max_failures, ts(now)])
                    .map_err(db)?;
                if granted == 1 {
                    return Ok(Attempt::Granted);
                }
                // Either locked, or the last allowed attempts are still being checked:
                // those will lock the account if they fail, so answer as locked.
                let until = locked_until(conn, id)?
                    .map(from_ts)
                    .filter(|u| *u > now)
                    .unwrap_or(now + lock_for);
                Ok(Attempt::Locked { until })
            })
            .await
    }

    async fn release_login_attempt(&self, id: UserId) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE users SET failed_logins = failed_logins - 1
                     WHERE id = ?1 AND failed_logins > 0",
                )
                .map_err(db)?
                .execute([id])
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn lock_if_exhausted(
        &self,
        id: UserId,
        now: DateTime<Utc>,
        max_failures: i64,
        lock_for: chrono::Duration,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        self.engine
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE users SET locked_until = ?3, failed_logins = 0
                     WHERE id = ?1 AND failed_logins >= ?2",
                )
                .map_err(db)?
                .execute(params![id, max_failures, ts(now + lock_for)])
                .map_err(db)?;
                Ok(locked_until(conn, id)?.map(from_ts).filter(|u| *u > now))
            })
            .await
    }

    async fn accept_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool> {
        self.engine
            .write(move |conn| {
                let changed = conn
                    .prepare_cached(
                        "UPDATE users SET last_totp_step = ?2
                         WHERE id = ?1 AND (last_totp_step IS NULL OR last_totp_step < ?2)",
                    )
                    .map_err(db)?
                    .execute(params![id, step])
                    .map_err(db)?;
                Ok(changed == 1)
            })
            .await
    }

    async fn start_session(
        &self,
        user_id: UserId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<SessionId> {
        let token_hash = token_hash.to_owned();
        self.engine
            .write(move |conn| {
                let session_id = new_session(conn, user_id, now)?;
                insert_token(conn, &token_hash, user_id, session_id, expires_at)?;
                Ok(session_id)
            })
            .await
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        let (old_hash, new_hash) = (old_hash.to_owned(), new_hash.to_owned());
        self.engine
            .write(move |conn| rotate(conn, &old_hash, &new_hash, new_expires_at, now))
            .await
    }

    async fn revoke_session_of(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let token_hash = token_hash.to_owned();
        self.engine
            .write(move |conn| {
                let session: Option<Option<SessionId>> = conn
                    .prepare_cached("SELECT session_id FROM refresh_tokens WHERE token_hash = ?1")
                    .map_err(db)?
                    .query_row([&token_hash], |r| r.get(0))
                    .optional()
                    .map_err(db)?;
                match session {
                    None => Ok(false),
                    Some(Some(session_id)) => revoke(conn, session_id, now),
                    // A token from before sessions existed: forgetting it is its logout.
                    Some(None) => {
                        conn.prepare_cached("DELETE FROM refresh_tokens WHERE token_hash = ?1")
                            .map_err(db)?
                            .execute([&token_hash])
                            .map_err(db)?;
                        Ok(true)
                    }
                }
            })
            .await
    }

    async fn session_state(
        &self,
        user_id: UserId,
        session_id: Option<SessionId>,
    ) -> StoreResult<Option<SessionState>> {
        self.engine
            .read(move |conn| {
                let row: Option<(String, bool)> = conn
                    .prepare_cached(
                        "SELECT u.role,
                                ?2 IS NOT NULL AND (s.id IS NULL OR s.revoked_at IS NOT NULL)
                         FROM users u LEFT JOIN sessions s ON s.id = ?2 AND s.user_id = u.id
                         WHERE u.id = ?1 AND u.erased_at IS NULL",
                    )
                    .map_err(db)?
                    .query_row(params![user_id, session_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(db)?;
                row.map(|(role, revoked)| {
                    Ok(SessionState {
                        role: role
                            .parse::<Role>()
                            .map_err(|e| StoreError::Backend(e.to_string()))?,
                        revoked,
                    })
                })
                .transpose()
            })
            .await
    }
}
