//! SQLite: the invariant checker's views.

use async_trait::async_trait;
use rusqlite::Connection;

use super::rows::*;
use super::{SqliteStore, db};
use crate::domain::{OrderId, SegmentMask, TripId};
use crate::store::prelude::*;
use crate::store::{Ledger, MoneyPair, OrderMoney, SeatClaim, StoreResult};

pub(super) fn seat_claims(
    conn: &Connection,
    trip_id: Option<TripId>,
) -> StoreResult<Vec<SeatClaim>> {
    conn.prepare_cached(
        "SELECT s.id, s.taken, h.id, h.mask, h.status, o.status
         FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id JOIN seats s ON s.id = hs.seat_id
         LEFT JOIN orders o ON o.hold_id = h.id
         WHERE ?1 IS NULL OR h.trip_id = ?1 ORDER BY s.id, h.id",
    )
    .map_err(db)?
    .query_map([trip_id], |r| {
        Ok(SeatClaim {
            seat_id: r.get(0)?,
            seat_taken: SegmentMask::from_db(r.get(1)?),
            hold_id: r.get(2)?,
            hold_mask: SegmentMask::from_db(r.get(3)?),
            hold_status: r.get(4)?,
            order_status: r.get(5)?,
        })
    })
    .map_err(db)?
    .collect::<Result<_, _>>()
    .map_err(db)
}

pub(super) fn ledger(conn: &Connection) -> StoreResult<Ledger> {
    conn.query_row(
        "SELECT
           (SELECT COUNT(*) FROM orders WHERE status = 'confirmed'),
           (SELECT COUNT(*) FROM order_passengers p JOIN orders o ON o.id = p.order_id WHERE o.status = 'confirmed'),
           (SELECT COUNT(*) FROM tickets WHERE status = 'valid'),
           (SELECT COUNT(*) FROM tickets t JOIN orders o ON o.id = t.order_id WHERE t.status = 'valid' AND o.status <> 'confirmed'),
           (SELECT COALESCE(SUM(CASE WHEN status = 'confirmed' THEN amount
                                     WHEN status IN ('cancelled', 'refunded') THEN amount - refunded_amount
                                     ELSE 0 END), 0) FROM orders),
           (SELECT COALESCE(SUM(amount - refunded), 0) FROM cash_charges WHERE status = 'succeeded')",
        [],
        |r| {
            Ok(Ledger {
                confirmed_orders: r.get(0)?,
                confirmed_passengers: r.get(1)?,
                valid_tickets: r.get(2)?,
                stray_tickets: r.get(3)?,
                orders_net: r.get(4)?,
                gateway_net: r.get(5)?,
                ..Ledger::default()
            })
        },
    )
    .map_err(db)
}

/// Orders with the charge under `order-<id>`, then the charges no order claims.
pub(super) const MONEY_PAIRS: &str = "
    SELECT o.id, o.status, o.amount, o.refunded_amount, o.charge_id,
           g.idempotency_key, g.charge_id, g.token, g.amount, g.status, g.refunded
      FROM orders o
      LEFT JOIN cash_charges g ON g.idempotency_key = 'order-' || o.id
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL,
           g.idempotency_key, g.charge_id, g.token, g.amount, g.status, g.refunded
      FROM cash_charges g
      LEFT JOIN orders o
        ON g.idempotency_key GLOB 'order-[0-9]*'
       AND o.id = CAST(substr(g.idempotency_key, 7) AS INTEGER)
     WHERE o.id IS NULL";

pub(super) fn money_pairs(conn: &Connection) -> StoreResult<Vec<MoneyPair>> {
    let mut stmt = conn.prepare(MONEY_PAIRS).map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            let order = match r.get::<_, Option<OrderId>>(0)? {
                Some(id) => Some(OrderMoney {
                    id,
                    status: r.get(1)?,
                    amount: r.get(2)?,
                    refunded_amount: r.get(3)?,
                    charge_id: r.get(4)?,
                }),
                None => None,
            };
            let charge = match r.get::<_, Option<String>>(5)? {
                Some(_) => Some(charge_row_at(r, 5)?),
                None => None,
            };
            Ok(MoneyPair { order, charge })
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

#[async_trait]
impl InvariantStore for SqliteStore {
    async fn seat_claims(&self, trip_id: Option<TripId>) -> StoreResult<Vec<SeatClaim>> {
        self.engine.read(move |c| seat_claims(c, trip_id)).await
    }

    async fn ledger(&self) -> StoreResult<Ledger> {
        self.engine.read(ledger).await
    }

    async fn money_pairs(&self) -> StoreResult<Vec<crate::store::MoneyPair>> {
        self.engine.read(money_pairs).await
    }
}
