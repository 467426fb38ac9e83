//! SQLite side of `CounterStore`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, db};
use crate::domain::{HoldId, OrderId, SeatId, SegmentMask, TripId, UserId};
use crate::store::counter::{LIVE_STATUSES, PAID_STATUSES, PAYING_STATUSES};
use crate::store::{CounterSale, CounterStore, ShiftTotals, StoreResult, from_ts, ts};

#[async_trait]
impl CounterStore for SqliteStore {
    async fn record_counter_sale(
        &self,
        hold_id: HoldId,
        clerk_id: UserId,
        phone: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let phone = phone.to_owned();
        self.engine
            .write(move |c| {
                c.prepare_cached(
                    "INSERT INTO counter_sales (hold_id, clerk_id, phone, created_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (hold_id) DO UPDATE SET phone = excluded.phone",
                )
                .map_err(db)?
                .execute(params![hold_id, clerk_id, phone, ts(now)])
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn counter_sale(&self, order_id: OrderId) -> StoreResult<Option<CounterSale>> {
        self.engine
            .read(move |c| {
                c.prepare_cached(
                    "SELECT o.id, cs.clerk_id, cs.phone, cs.created_at FROM counter_sales cs
                     JOIN orders o ON o.hold_id = cs.hold_id WHERE o.id = ?1",
                )
                .map_err(db)?
                .query_row([order_id], |r| {
                    Ok(CounterSale {
                        order_id: r.get(0)?,
                        clerk_id: r.get(1)?,
                        phone: r.get(2)?,
                        created_at: from_ts(r.get(3)?),
                    })
                })
                .optional()
                .map_err(db)
            })
            .await
    }

    async fn record_counter_refund(
        &self,
        order_id: OrderId,
        clerk_id: UserId,
        amount: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.engine
            .write(move |c| {
                let n = c
                    .prepare_cached(
                        "INSERT INTO counter_refunds (order_id, clerk_id, amount, created_at)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (order_id) DO NOTHING",
                    )
                    .map_err(db)?
                    .execute(params![order_id, clerk_id, amount, ts(now)])
                    .map_err(db)?;
                Ok(n == 1)
            })
            .await
    }

    async fn order_ids_by_phone(&self, phone: &str) -> StoreResult<Vec<OrderId>> {
        let phone = phone.to_owned();
        self.engine
            .read(move |c| {
                c.prepare_cached(
                    "SELECT o.id FROM counter_sales cs JOIN orders o ON o.hold_id = cs.hold_id
             WHERE cs.phone = ?1
                     UNION
                     SELECT o.id FROM orders o JOIN users u ON u.id = o.user_id
                     WHERE u.phone = ?1 AND u.role = 'passenger'
                     ORDER BY 1",
                )
                .map_err(db)?
                .query_map([phone], |r| r.get(0))
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)
            })
            .await
    }

    async fn counter_seats_on_trip(&self, phone: &str, trip_id: TripId) -> StoreResult<i64> {
        let phone = phone.to_owned();
        let sql = format!(
            "SELECT COUNT(*) FROM counter_sales cs
             JOIN orders o ON o.hold_id = cs.hold_id
             JOIN order_passengers p ON p.order_id = o.id
             WHERE cs.phone = ?1 AND o.trip_id = ?2 AND o.status IN ({LIVE_STATUSES})"
        );
        self.engine
            .read(move |c| {
                c.prepare_cached(&sql)
                    .map_err(db)?
                    .query_row(params![phone, trip_id], |r| r.get(0))
                    .map_err(db)
            })
            .await
    }

    async fn shift_totals(
        &self,
        clerk_id: UserId,
        since: DateTime<Utc>,
    ) -> StoreResult<ShiftTotals> {
        let sql = format!(
            "SELECT
               (SELECT COUNT(*) FROM counter_sales cs JOIN orders o ON o.hold_id = cs.hold_id
                 WHERE cs.clerk_id = ?1 AND cs.created_at >= ?2 AND o.status IN ({PAID_STATUSES})),
               (SELECT COUNT(*) FROM counter_sales cs JOIN orders o ON o.hold_id = cs.hold_id
                 JOIN order_passengers p ON p.order_id = o.id
                 WHERE cs.clerk_id = ?1 AND cs.created_at >= ?2 AND o.status IN ({PAID_STATUSES})),
               (SELECT COALESCE(SUM(o.amount), 0) FROM counter_sales cs JOIN orders o ON o.hold_id = cs.hold_id
                 WHERE cs.clerk_id = ?1 AND cs.created_at >= ?2 AND o.status IN ({PAID_STATUSES})),
               (SELECT COUNT(*) FROM counter_refunds WHERE clerk_id = ?1 AND created_at >= ?2),
               (SELECT COALESCE(SUM(amount), 0) FROM counter_refunds
                 WHERE clerk_id = ?1 AND created_at >= ?2)"
        );
        self.engine
            .read(move |c| {
                c.prepare_cached(&sql)
                    .map_err(db)?
                    .query_row(params![clerk_id, ts(since)], |r| {
                        Ok(ShiftTotals {
                            orders: r.get(0)?,
                            tickets: r.get(1)?,
                            cash_in: r.get(2)?,
                            refunds: r.get(3)?,
                            cash_out: r.get(4)?,
                        })
                    })
                    .map_err(db)
            })
            .await
    }

    async fn pending_hold_seats(&self, trip_id: TripId) -> StoreResult<Vec<(SeatId, SegmentMask)>> {
        let sql = format!(
            "SELECT hs.seat_id, h.mask FROM holds h JOIN hold_seats hs ON hs.hold_id = h.id
             WHERE h.trip_id = ?1 AND h.status = 'active'
             UNION ALL
             SELECT hs.seat_id, h.mask FROM orders o JOIN holds h ON h.id = o.hold_id
             JOIN hold_seats hs ON hs.hold_id = h.id
             WHERE o.trip_id = ?1 AND o.status IN ({PAYING_STATUSES})"
        );
        self.engine
            .read(move |c| {
                c.prepare_cached(&sql)
                    .map_err(db)?
                    .query_map([trip_id], |r| {
                        Ok((r.get(0)?, SegmentMask::from_db(r.get(1)?)))
                    })
                    .map_err(db)?
                    .collect::<Result<_, _>>()
                    .map_err(db)
            })
            .await
    }
}
