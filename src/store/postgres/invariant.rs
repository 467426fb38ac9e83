//! Postgres: the invariant checker's views.

use async_trait::async_trait;
use sqlx::postgres::PgPool;

use super::rows::*;
use super::{PgStore, db};
use crate::domain::{OrderId, SegmentMask, TripId};
use crate::store::prelude::*;
use crate::store::{Ledger, MoneyPair, OrderMoney, SeatClaim, StoreResult};

pub(super) async fn seat_claims(
    pool: &PgPool,
    trip_id: Option<TripId>,
) -> StoreResult<Vec<SeatClaim>> {
    let rows = sqlx::query(
        "SELECT s.id AS seat_id, s.taken, h.id AS hold_id, h.mask, h.status AS hold_status, o.status AS order_status
         FROM hold_seats hs JOIN holds h ON h.id = hs.hold_id JOIN seats s ON s.id = hs.seat_id
         LEFT JOIN orders o ON o.hold_id = h.id
         WHERE $1::bigint IS NULL OR h.trip_id = $1 ORDER BY s.id, h.id",
    )
    .bind(trip_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(SeatClaim {
                seat_id: get(r, "seat_id")?,
                seat_taken: SegmentMask::from_db(get(r, "taken")?),
                hold_id: get(r, "hold_id")?,
                hold_mask: SegmentMask::from_db(get(r, "mask")?),
                hold_status: get(r, "hold_status")?,
                order_status: get(r, "order_status")?,
            })
        })
        .collect()
}

pub(super) async fn ledger(pool: &PgPool) -> StoreResult<Ledger> {
    let r = sqlx::query(
        "SELECT
           (SELECT COUNT(*) FROM orders WHERE status = 'confirmed') AS confirmed_orders,
           (SELECT COUNT(*) FROM order_passengers p JOIN orders o ON o.id = p.order_id WHERE o.status = 'confirmed') AS passengers,
           (SELECT COUNT(*) FROM tickets WHERE status = 'valid') AS valid_tickets,
           (SELECT COUNT(*) FROM tickets t JOIN orders o ON o.id = t.order_id WHERE t.status = 'valid' AND o.status <> 'confirmed') AS stray,
           (SELECT COALESCE(SUM(CASE WHEN status = 'confirmed' THEN amount
                                     WHEN status IN ('cancelled', 'refunded') THEN amount - refunded_amount
                                     ELSE 0 END), 0)::BIGINT FROM orders) AS orders_net,
           (SELECT COALESCE(SUM(amount - refunded), 0)::BIGINT FROM cash_charges WHERE status = 'succeeded') AS gateway_net",
    )
    .fetch_one(pool)
    .await
    .map_err(db)?;
    Ok(Ledger {
        confirmed_orders: get(&r, "confirmed_orders")?,
        confirmed_passengers: get(&r, "passengers")?,
        valid_tickets: get(&r, "valid_tickets")?,
        stray_tickets: get(&r, "stray")?,
        orders_net: get(&r, "orders_net")?,
        gateway_net: get(&r, "gateway_net")?,
        ..Ledger::default()
    })
}

/// Orders with the charge under `order-<id>`, then the charges no order claims.
pub(super) const MONEY_PAIRS: &str = "
    SELECT o.id AS o_id, o.status AS o_status, o.amount AS o_amount,
           o.refunded_amount AS o_refunded, o.charge_id AS o_charge,
           g.idempotency_key AS g_idempotency_key, g.charge_id AS g_charge_id,
           g.token AS g_token, g.amount AS g_amount, g.status AS g_status,
           g.refunded AS g_refunded
      FROM orders o
      LEFT JOIN cash_charges g ON g.idempotency_key = 'order-' || o.id
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL,
           g.idempotency_key, g.charge_id, g.token, g.amount, g.status, g.refunded
      FROM cash_charges g
      LEFT JOIN orders o
        ON g.idempotency_key ~ '^order-[0-9]{1,18}$'
       AND o.id = CASE WHEN g.idempotency_key ~ '^order-[0-9]{1,18}$'
                       THEN substr(g.idempotency_key, 7)::BIGINT END
     WHERE o.id IS NULL";

pub(super) async fn money_pairs(pool: &PgPool) -> StoreResult<Vec<MoneyPair>> {
    let rows = sqlx::query(MONEY_PAIRS).fetch_all(pool).await.map_err(db)?;
    let mut pairs = Vec::with_capacity(rows.len());
    for r in &rows {
        let order = match get::<Option<OrderId>>(r, "o_id")? {
            Some(id) => Some(OrderMoney {
                id,
                status: get(r, "o_status")?,
                amount: get(r, "o_amount")?,
                refunded_amount: get(r, "o_refunded")?,
                charge_id: get(r, "o_charge")?,
            }),
            None => None,
        };
        let charge = match get::<Option<String>>(r, "g_idempotency_key")? {
            Some(_) => Some(charge_row_named(r, "g_")?),
            None => None,
        };
        pairs.push(MoneyPair { order, charge });
    }
    Ok(pairs)
}

#[async_trait]
impl InvariantStore for PgStore {
    async fn seat_claims(&self, trip_id: Option<TripId>) -> StoreResult<Vec<SeatClaim>> {
        seat_claims(&self.pool, trip_id).await
    }

    async fn ledger(&self) -> StoreResult<Ledger> {
        ledger(&self.pool).await
    }

    async fn money_pairs(&self) -> StoreResult<Vec<crate::store::MoneyPair>> {
        money_pairs(&self.pool).await
    }
}
