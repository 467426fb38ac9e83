//! Postgres implementation of `Store`, via `sqlx` (rustls).
//!
//! Semantics match the SQLite store exactly (the conformance suite runs both).
//! Concurrency comes from row locks instead of a single writer: a hold locks
//! the user's row, then its seats in id order (no deadlocks), and takes them
//! only if all are free; expiry and audit use SKIP LOCKED and an advisory lock
//! so several `serve` processes can share one database.
//!
//! The booking steps (hold, release, expiry, order, transition, confirmation,
//! tickets) are plpgsql functions (migrations/postgres/0004): each step is one
//! round trip, and, called in autocommit, its own all-or-nothing transaction.

mod booking;
mod catalog;
mod counter;
mod identity;
mod limits;
mod money;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Executor, Row};
use std::time::Duration;

use crate::domain::{
    Fare, FareRate, OrderStatus, Role, SeatClass, SegmentMask, ServiceDate, Station, StationCode,
    Train,
};
use crate::store::{
    AuditRecord, Backend, Confirmation, Consumer, Counts, FareRow, FreeCount, GatewayCharge,
    HoldRecord, IdempotencyRecord, Ledger, NewHold, NewOrder, NewStation, NewTicket, NewTrip,
    NewUser, OrderChange, OrderRecord, OutboxEvent, PaymentToken, SeatClaim, SeatRecord, Store,
    StoreError, StoreResult, TicketRecord, TrainRecord, TripRecord, Upsert, User, from_ts, ts,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            // Measured with 8 and 32 after the booking steps became single calls
            // (one rehearsal each, 2 cores): 32 was slower (227 vs 263 bookings/s),
            // since the server, the load and Postgres share the cores; more
            // connections only queue in Postgres. 16 was not measured.
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| StoreError::Open(format!("{}: {e}", super::redact_url(url))))?;
        Ok(PgStore { pool })
    }
}

/// Maps driver errors: unique violations are the caller's conflict, the rest are ours.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    // Unique (23505) and foreign-key (23503) violations are the caller's
    // conflict, as they are on SQLite.
    if let sqlx::Error::Database(d) = &e
        && matches!(d.code().as_deref(), Some("23505" | "23503"))
    {
        return StoreError::Conflict(d.message().to_owned());
    }
    StoreError::Backend(e.to_string())
}

pub(crate) fn get<'r, T>(row: &'r PgRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(col).map_err(db)
}

pub(crate) fn class(s: &str) -> StoreResult<SeatClass> {
    s.parse()
        .map_err(|e: crate::domain::ParseError| StoreError::Backend(e.to_string()))
}

fn user_row(r: &PgRow) -> StoreResult<User> {
    Ok(User {
        id: get(r, "id")?,
        name: get(r, "name")?,
        phone: get(r, "phone")?,
        email: get(r, "email")?,
        password_hash: get(r, "password_hash")?,
        role: get::<String>(r, "role")?
            .parse()
            .map_err(|e: crate::domain::ParseError| StoreError::Backend(e.to_string()))?,
        totp_secret: get(r, "totp_secret")?,
        mfa_enabled: get(r, "mfa_enabled")?,
        failed_logins: get(r, "failed_logins")?,
        locked_until: get::<Option<i64>>(r, "locked_until")?.map(from_ts),
        created_at: from_ts(get(r, "created_at")?),
    })
}

const USER_COLUMNS: &str = "SELECT id, name, phone, email, password_hash, role, totp_secret,
     mfa_enabled, failed_logins, locked_until, created_at FROM users";

async fn user_where<'e, E: Executor<'e, Database = sqlx::Postgres>>(
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
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> StoreResult<usize> {
        let before = applied_migrations(&self.pool).await?;
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))?;
        Ok(applied_migrations(&self.pool).await?.saturating_sub(before))
    }

    async fn is_migrated(&self) -> StoreResult<bool> {
        Ok(applied_migrations(&self.pool).await? >= MIGRATOR.iter().count())
    }

    async fn setting_or_init(&self, key: &str, init: &str) -> StoreResult<String> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(init)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn upsert_station(&self, s: &NewStation) -> StoreResult<Upsert> {
        catalog::upsert_station(&self.pool, s).await
    }

    async fn list_stations(&self) -> StoreResult<Vec<Station>> {
        catalog::list_stations(&self.pool).await
    }

    async fn upsert_train(&self, train: &Train) -> StoreResult<Upsert> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let result = catalog::upsert_train(&mut tx, train).await?;
        tx.commit().await.map_err(db)?;
        Ok(result)
    }

    async fn list_trains(&self) -> StoreResult<Vec<TrainRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        catalog::load_trains(&mut conn, None).await
    }

    async fn train_by_number(&self, number: u32) -> StoreResult<Option<TrainRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Ok(catalog::load_trains(&mut conn, Some(number))
            .await?
            .into_iter()
            .next())
    }

    async fn upsert_fares(&self, fares: &[FareRow]) -> StoreResult<usize> {
        catalog::upsert_fares(&self.pool, fares).await
    }

    async fn upsert_fare_rates(&self, rates: &[(SeatClass, FareRate)]) -> StoreResult<usize> {
        let mut changed = 0;
        for (c, r) in rates {
            changed += sqlx::query(
                "INSERT INTO fare_rates (class, per_km, min_fare, vat_percent) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (class) DO UPDATE SET per_km = excluded.per_km,
                   min_fare = excluded.min_fare, vat_percent = excluded.vat_percent
                 WHERE fare_rates.per_km <> excluded.per_km OR fare_rates.min_fare <> excluded.min_fare
                    OR fare_rates.vat_percent <> excluded.vat_percent",
            )
            .bind(c.code())
            .bind(r.per_km)
            .bind(r.min)
            .bind(r.vat_percent)
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected() as usize;
        }
        Ok(changed)
    }

    async fn fares_between(
        &self,
        from: &StationCode,
        to: &StationCode,
    ) -> StoreResult<Vec<(SeatClass, Fare)>> {
        let rows = sqlx::query(
            "SELECT f.class, f.base, f.vat FROM fares f
             JOIN stations a ON a.id = f.from_id JOIN stations b ON b.id = f.to_id
             WHERE a.code = $1 AND b.code = $2 ORDER BY f.class",
        )
        .bind(from.as_str())
        .bind(to.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok((
                    class(&get::<String>(r, "class")?)?,
                    Fare {
                        base: get(r, "base")?,
                        vat: get(r, "vat")?,
                    },
                ))
            })
            .collect()
    }

    async fn fare_rates(&self) -> StoreResult<Vec<(SeatClass, FareRate)>> {
        let rows = sqlx::query(
            "SELECT class, per_km, min_fare, vat_percent FROM fare_rates ORDER BY class",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok((
                    class(&get::<String>(r, "class")?)?,
                    FareRate {
                        per_km: get(r, "per_km")?,
                        min: get(r, "min_fare")?,
                        vat_percent: get(r, "vat_percent")?,
                    },
                ))
            })
            .collect()
    }

    async fn create_trip(&self, trip: &NewTrip) -> StoreResult<Option<i64>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let id = catalog::create_trip(&mut tx, trip).await?;
        tx.commit().await.map_err(db)?;
        Ok(id)
    }

    async fn trip(&self, id: i64) -> StoreResult<Option<TripRecord>> {
        catalog::trips_where(&self.pool, "t.id = $1", &[id.to_string()])
            .await
            .map(|mut v| v.pop())
    }

    async fn trips_between(
        &self,
        first: ServiceDate,
        last: ServiceDate,
    ) -> StoreResult<Vec<TripRecord>> {
        catalog::trips_where(
            &self.pool,
            "t.service_date BETWEEN $1 AND $2",
            &[first.to_string(), last.to_string()],
        )
        .await
    }

    async fn free_seat_counts(
        &self,
        journeys: &[(i64, SegmentMask)],
    ) -> StoreResult<Vec<FreeCount>> {
        if journeys.is_empty() {
            return Ok(vec![]);
        }
        let trips: Vec<i64> = journeys.iter().map(|(t, _)| *t).collect();
        let masks: Vec<i64> = journeys.iter().map(|(_, m)| m.to_db()).collect();
        // One query for all trips of a search: each trip has its own journey mask.
        let rows = sqlx::query(
            "SELECT s.trip_id, s.class, COUNT(*) AS free
             FROM seats s JOIN UNNEST($1::bigint[], $2::bigint[]) AS j(trip_id, mask) ON s.trip_id = j.trip_id
             WHERE (s.taken & j.mask) = 0 GROUP BY s.trip_id, s.class",
        )
        .bind(trips)
        .bind(masks)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(FreeCount {
                    trip_id: get(r, "trip_id")?,
                    class: class(&get::<String>(r, "class")?)?,
                    free: get(r, "free")?,
                })
            })
            .collect()
    }

    async fn seats(&self, trip_id: i64) -> StoreResult<Vec<SeatRecord>> {
        let rows = sqlx::query(
            "SELECT id, coach_seq, coach_code, seat_no, class, taken FROM seats
             WHERE trip_id = $1 ORDER BY coach_seq, seat_no",
        )
        .bind(trip_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(booking::seat_row).collect()
    }

    async fn create_user(&self, u: &NewUser) -> StoreResult<User> {
        let row = sqlx::query(
            "INSERT INTO users (name, phone, email, password_hash, role, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&u.name)
        .bind(&u.phone)
        .bind(&u.email)
        .bind(&u.password_hash)
        .bind(u.role.as_str())
        .bind(ts(u.created_at))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match db(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict("a user with this phone or e-mail already exists".into())
            }
            other => other,
        })?;
        let id: i64 = get(&row, "id")?;
        user_where(&self.pool, "id = $1", id)
            .await?
            .ok_or_else(|| StoreError::Backend("inserted user vanished".into()))
    }

    async fn user(&self, id: i64) -> StoreResult<Option<User>> {
        user_where(&self.pool, "id = $1", id).await
    }

    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        user_where(&self.pool, "phone = $1 OR email = $1", login.to_owned()).await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("{USER_COLUMNS} ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(user_row).collect()
    }

    async fn set_role(&self, id: i64, role: Role) -> StoreResult<()> {
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

    async fn record_failed_login(
        &self,
        id: i64,
        now: DateTime<Utc>,
        max_failures: i64,
        lock_for: chrono::Duration,
    ) -> StoreResult<User> {
        // Locking resets the counter, so after the lock a user gets a fresh set of tries.
        sqlx::query(
            "UPDATE users SET
               locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END,
               failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END
             WHERE id = $1",
        )
        .bind(id)
        .bind(max_failures)
        .bind(ts(now + lock_for))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        user_where(&self.pool, "id = $1", id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {id}")))
    }

    async fn clear_failed_logins(&self, id: i64) -> StoreResult<()> {
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

    async fn set_totp(&self, id: i64, secret: Option<&str>, enabled: bool) -> StoreResult<()> {
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
        user_id: i64,
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

    async fn take_refresh_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "DELETE FROM refresh_tokens WHERE token_hash = $1 RETURNING user_id, expires_at",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        match row {
            Some(r) if get::<i64>(&r, "expires_at")? > ts(now) => Ok(Some(get(&r, "user_id")?)),
            _ => Ok(None),
        }
    }

    async fn counts(&self) -> StoreResult<Counts> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM stations) AS stations, (SELECT COUNT(*) FROM trains) AS trains,
                    (SELECT COUNT(*) FROM train_stops) AS stops, (SELECT COUNT(*) FROM train_coaches) AS coaches,
                    (SELECT COUNT(*) FROM fares) AS fares, (SELECT COUNT(*) FROM trips) AS trips,
                    (SELECT COUNT(*) FROM seats) AS seats, (SELECT COUNT(*) FROM users) AS users",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(Counts {
            stations: get(&r, "stations")?,
            trains: get(&r, "trains")?,
            train_stops: get(&r, "stops")?,
            coaches: get(&r, "coaches")?,
            fares: get(&r, "fares")?,
            trips: get(&r, "trips")?,
            seats: get(&r, "seats")?,
            users: get(&r, "users")?,
        })
    }

    async fn create_hold(&self, hold: &NewHold) -> StoreResult<HoldRecord> {
        booking::create_hold(&self.pool, hold).await
    }

    async fn hold(&self, id: i64) -> StoreResult<Option<HoldRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        booking::load_hold(&mut conn, id).await
    }

    async fn release_hold(&self, id: i64, user_id: i64) -> StoreResult<bool> {
        booking::release_hold(&self.pool, id, user_id).await
    }

    async fn expire_holds(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<i64>> {
        booking::expire_holds(&self.pool, now, limit).await
    }

    async fn create_order(&self, order: &NewOrder) -> StoreResult<OrderRecord> {
        booking::create_order(&self.pool, order).await
    }

    async fn order(&self, id: i64) -> StoreResult<Option<OrderRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Ok(booking::orders_where(&mut conn, "id = $1", id).await?.pop())
    }

    async fn orders_of_user(&self, user_id: i64) -> StoreResult<Vec<OrderRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        booking::orders_where(&mut conn, "user_id = $1", user_id).await
    }

    async fn orders_stuck(
        &self,
        statuses: &[OrderStatus],
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<OrderRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        booking::orders_stuck(&mut conn, statuses, before).await
    }

    async fn transition_order(
        &self,
        id: i64,
        from: OrderStatus,
        to: OrderStatus,
        change: &OrderChange,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        booking::transition_order(&self.pool, id, from, to, change, now).await
    }

    async fn idempotency(&self, user_id: i64, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        booking::idempotency(&self.pool, user_id, key).await
    }

    async fn confirm_order(&self, c: Confirmation) -> StoreResult<Option<Vec<TicketRecord>>> {
        booking::confirm_order(&self.pool, c).await
    }

    async fn finish_idempotency(
        &self,
        user_id: i64,
        key: &str,
        status_code: u16,
        response: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE user_id = $1 AND key = $2")
            .bind(user_id)
            .bind(key)
            .bind(status_code as i64)
            .bind(response)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn insert_payment_token(&self, t: &PaymentToken, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO payment_tokens (token, user_id, brand, last4, exp_month, exp_year, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&t.token)
        .bind(t.user_id)
        .bind(&t.brand)
        .bind(&t.last4)
        .bind(t.exp_month as i64)
        .bind(t.exp_year as i64)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn payment_token(&self, token: &str) -> StoreResult<Option<PaymentToken>> {
        booking::payment_token(&self.pool, token).await
    }

    async fn gateway_record(
        &self,
        c: &GatewayCharge,
        now: DateTime<Utc>,
    ) -> StoreResult<GatewayCharge> {
        let inserted = sqlx::query(
            "INSERT INTO gateway_charges (idempotency_key, charge_id, token, amount, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&c.idempotency_key)
        .bind(&c.charge_id)
        .bind(&c.token)
        .bind(c.amount)
        .bind(&c.status)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if inserted == 1 {
            // Ours, exactly as given (a new charge is never refunded yet): no need to read it back.
            return Ok(GatewayCharge {
                refunded: 0,
                ..c.clone()
            });
        }
        booking::charge_where(&self.pool, "idempotency_key = $1", &c.idempotency_key)
            .await?
            .ok_or_else(|| StoreError::Backend("charge vanished".into()))
    }

    async fn gateway_charge(&self, idempotency_key: &str) -> StoreResult<Option<GatewayCharge>> {
        booking::charge_where(&self.pool, "idempotency_key = $1", idempotency_key).await
    }

    async fn gateway_refund(&self, charge_id: &str, total: i64) -> StoreResult<GatewayCharge> {
        sqlx::query(
            "UPDATE gateway_charges SET refunded = GREATEST(refunded, LEAST(amount, $2))
             WHERE charge_id = $1 AND status = 'succeeded'",
        )
        .bind(charge_id)
        .bind(total)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        booking::charge_where(&self.pool, "charge_id = $1", charge_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("charge {charge_id}")))
    }

    async fn issue_tickets(&self, tickets: &[NewTicket], now: DateTime<Utc>) -> StoreResult<usize> {
        booking::issue_tickets(&self.pool, tickets, now).await
    }

    async fn tickets_of_order(&self, order_id: i64) -> StoreResult<Vec<TicketRecord>> {
        booking::tickets_where(&self.pool, "order_id = $1", order_id).await
    }

    async fn ticket(&self, id: i64) -> StoreResult<Option<TicketRecord>> {
        Ok(booking::tickets_where(&self.pool, "id = $1", id)
            .await?
            .pop())
    }

    async fn ticket_by_pnr(&self, pnr: &str) -> StoreResult<Option<TicketRecord>> {
        Ok(
            booking::tickets_where(&self.pool, "pnr = $1", pnr.to_owned())
                .await?
                .pop(),
        )
    }

    async fn outbox_pending(
        &self,
        consumer: Consumer,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>> {
        booking::outbox_pending(&self.pool, consumer, limit).await
    }

    async fn outbox_mark(
        &self,
        consumer: Consumer,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let sql = format!(
            "UPDATE outbox SET {} = $2 WHERE id = ANY($1)",
            consumer.column()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ids.to_vec())
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn audit_append(&self, event: &OutboxEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        booking::audit_append(&mut tx, event).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn audit_append_all(&self, events: &[OutboxEvent]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        booking::audit_append_all(&mut tx, events).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn audit_log(&self) -> StoreResult<Vec<AuditRecord>> {
        booking::audit_log(&self.pool).await
    }

    async fn seat_claims(&self, trip_id: Option<i64>) -> StoreResult<Vec<SeatClaim>> {
        booking::seat_claims(&self.pool, trip_id).await
    }

    async fn ledger(&self) -> StoreResult<Ledger> {
        booking::ledger(&self.pool).await
    }

    async fn money_pairs(&self) -> StoreResult<Vec<crate::store::MoneyPair>> {
        money::money_pairs(&self.pool).await
    }
}

async fn applied_migrations(pool: &PgPool) -> StoreResult<usize> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(db)?;
    if !exists {
        return Ok(0);
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map_err(db)?;
    Ok(n as usize)
}
