//! SQLite: orders beside the gateway's own record of their charges.

use rusqlite::Connection;

use crate::store::{GatewayCharge, MoneyPair, OrderMoney, StoreResult};

use super::db;

/// Orders with the charge under `order-<id>`, then the charges no order claims.
const MONEY_PAIRS: &str = "
    SELECT o.id, o.status, o.amount, o.refunded_amount, o.charge_id,
           g.idempotency_key, g.charge_id, g.token, g.amount, g.status, g.refunded
      FROM orders o
      LEFT JOIN gateway_charges g ON g.idempotency_key = 'order-' || o.id
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL,
           g.idempotency_key, g.charge_id, g.token, g.amount, g.status, g.refunded
      FROM gateway_charges g
      LEFT JOIN orders o
        ON g.idempotency_key GLOB 'order-[0-9]*'
       AND o.id = CAST(substr(g.idempotency_key, 7) AS INTEGER)
     WHERE o.id IS NULL";

pub(super) fn money_pairs(conn: &Connection) -> StoreResult<Vec<MoneyPair>> {
    let mut stmt = conn.prepare(MONEY_PAIRS).map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            let order = match r.get::<_, Option<i64>>(0)? {
                Some(id) => Some(OrderMoney {
                    id,
                    status: super::booking::parse_status(&r.get::<_, String>(1)?)?,
                    amount: r.get(2)?,
                    refunded_amount: r.get(3)?,
                    charge_id: r.get(4)?,
                }),
                None => None,
            };
            let charge = match r.get::<_, Option<String>>(5)? {
                Some(idempotency_key) => Some(GatewayCharge {
                    idempotency_key,
                    charge_id: r.get(6)?,
                    token: r.get(7)?,
                    amount: r.get(8)?,
                    status: r.get(9)?,
                    refunded: r.get(10)?,
                }),
                None => None,
            };
            Ok(MoneyPair { order, charge })
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}
