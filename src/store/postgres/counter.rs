//! Postgres side of `CounterStore`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::PgStore;
use super::db;
use super::rows::get;
use crate::domain::{HoldId, OrderId, SeatId, SegmentMask, TripId, UserId};
use crate::store::counter::{LIVE_STATUSES, PAID_STATUSES, PAYING_STATUSES};
use crate::store::{CounterSale, CounterStore, ShiftTotals, StoreResult, from_ts, ts};

#[async_trait]
impl CounterStore for PgStore {
    async fn record_counter_sale(
        &self,
        hold_id: HoldId,
        clerk_id: UserId,
        phone: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO counter_sales (hold_id, clerk_id, phone, created_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (hold_id) DO UPDATE SET phone = excluded.phone",
        )
        .bind(hold_id)
        .bind(clerk_id)
        .bind(phone)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn counter_sale(&self, order_id: OrderId) -> StoreResult<Option<CounterSale>> {
        let row = sqlx::query(
            "SELECT o.id AS order_id, cs.clerk_id, cs.phone, cs.created_at FROM counter_sales cs
             JOIN orders o ON o.hold_id = cs.hold_id WHERE o.id = $1",
        )
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| {
            Ok(CounterSale {
                order_id: get(&r, "order_id")?,
                clerk_id: get(&r, "clerk_id")?,
                phone: get(&r, "phone")?,
                created_at: from_ts(get(&r, "created_at")?),
            })
        })
        .transpose()
    }

    async fn record_counter_refund(
        &self,
        order_id: OrderId,
        clerk_id: UserId,
        amount: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO counter_refunds (order_id, clerk_id, amount, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order_id)
        .bind(clerk_id)
        .bind(amount)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn order_ids_by_phone(&self, phone: &str) -> StoreResult<Vec<OrderId>> {
        sqlx::query_scalar(
            "SELECT o.id FROM counter_sales cs JOIN orders o ON o.hold_id = cs.hold_id
             WHERE cs.phone = $1
             UNION
             SELECT o.id FROM orders o JOIN users u ON u.id = o.user_id
             WHERE u.phone = $1 AND u.role = 'passenger'
             ORDER BY 1",
        )
        .bind(phone)
        .fetch_all(&self.pool)
        .await
        .map_err(db)
    }

    async fn counter_seats_on_trip(&self, phone: &str, trip_id: TripId) -> StoreResult<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM counter_sales cs
             JOIN orders o ON o.hold_id = cs.hold_id
             JOIN order_passengers p ON p.order_id = o.id
             WHERE cs.phone = $1 AND o.trip_id = $2 AND o.status IN ({LIVE_STATUSES})"
        );
        sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(phone)
            .bind(trip_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn shift_totals(
        &self,
        clerk_id: UserId,
        since: DateTime<Utc>,
    ) -> StoreResult<ShiftTotals> {
        let sql = format!(
            "SELECT
               (SELECT COUNT(*) FROM counter_sales cs JOIN orders o ON o.hold_id = cs.hold_id
                 WHERE cs.clerk_id = $1 AND cs.created_at >= $2 AND o.status IN ({PAID_STATUSES})) AS orders,
               (SELECT COUNT(*) FROM counter_sales cs JOIN orders o ON o.hold_id = cs.hold_id
                 JOIN order_passengers p ON p.order_id = o.id
                 WHERE cs.clerk_id = $1 AND cs.created_at >= $2 AND o.status IN ({PAID_STATUSES})) AS tickets,
               (SELECT COALESCE(SUM(o.amount), 0)::BIGINT FROM counter_sales cs JOIN orders o ON o.hold_id = cs.hold_id
                 WHERE cs.clerk_id = $1 AND cs.created_at >= $2 AND o.status IN ({PAID_STATUSES})) AS cash_in,
               (SELECT COUNT(*) FROM counter_refunds WHERE clerk_id = $1 AND created_at >= $2) AS refunds,
               (SELECT COALESCE(SUM(amount), 0)::BIGINT FROM counter_refunds
                 WHERE clerk_id = $1 AND created_at >= $2) AS cash_out"
        );
        let r = sqlx::query(AssertSqlSafe(sql))
            .bind(clerk_id)
            .bind(ts(since))
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(ShiftTotals {
            orders: get(&r, "orders")?,
            tickets: get(&r, "tickets")?,
            cash_in: get(&r, "cash_in")?,
            refunds: get(&r, "refunds")?,
            cash_out: get(&r, "cash_out")?,
        })
    }

    async fn pending_hold_seats(&self, trip_id: TripId) -> StoreResult<Vec<(SeatId, SegmentMask)>> {
        let sql = format!(
            "SELECT hs.seat_id, h.mask FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id
             WHERE h.trip_id = $1 AND h.status = 'active'
             UNION ALL
             SELECT hs.seat_id, h.mask FROM orders o JOIN holds h ON h.id = o.hold_id
             JOIN hold_seats hs ON hs.hold_id = h.id
             WHERE o.trip_id = $1 AND o.status IN ({PAYING_STATUSES})"
        );
        let rows: Vec<(SeatId, i64)> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(trip_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(seat, mask)| (seat, SegmentMask::from_db(mask)))
            .collect())
    }
}
