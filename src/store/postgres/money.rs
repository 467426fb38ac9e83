//! Postgres: orders beside the gateway's own record of their charges.

use sqlx::postgres::PgPool;

use crate::store::{GatewayCharge, MoneyPair, OrderMoney, StoreResult};

use super::{db, get};

/// Orders with the charge under `order-<id>`, then the charges no order claims.
const MONEY_PAIRS: &str = "
    SELECT o.id AS o_id, o.status AS o_status, o.amount AS o_amount,
           o.refunded_amount AS o_refunded, o.charge_id AS o_charge,
           g.idempotency_key AS g_key, g.charge_id AS g_charge, g.token AS g_token,
           g.amount AS g_amount, g.status AS g_status, g.refunded AS g_refunded
      FROM orders o
      LEFT JOIN gateway_charges g ON g.idempotency_key = 'order-' || o.id
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL,
           g.idempotency_key, g.charge_id, g.token, g.amount, g.status, g.refunded
      FROM gateway_charges g
      LEFT JOIN orders o
        ON g.idempotency_key ~ '^order-[0-9]{1,18}$'
       AND o.id = CASE WHEN g.idempotency_key ~ '^order-[0-9]{1,18}$'
                       THEN substr(g.idempotency_key, 7)::BIGINT END
     WHERE o.id IS NULL";

pub(super) async fn money_pairs(pool: &PgPool) -> StoreResult<Vec<MoneyPair>> {
    let rows = sqlx::query(MONEY_PAIRS).fetch_all(pool).await.map_err(db)?;
    let mut pairs = Vec::with_capacity(rows.len());
    for r in &rows {
        let order = match get::<Option<i64>>(r, "o_id")? {
            Some(id) => Some(OrderMoney {
                id,
                status: super::booking::status(&get::<String>(r, "o_status")?)?,
                amount: get(r, "o_amount")?,
                refunded_amount: get(r, "o_refunded")?,
                charge_id: get(r, "o_charge")?,
            }),
            None => None,
        };
        let charge = match get::<Option<String>>(r, "g_key")? {
            Some(idempotency_key) => Some(GatewayCharge {
                idempotency_key,
                charge_id: get(r, "g_charge")?,
                token: get(r, "g_token")?,
                amount: get(r, "g_amount")?,
                status: get(r, "g_status")?,
                refunded: get(r, "g_refunded")?,
            }),
            None => None,
        };
        pairs.push(MoneyPair { order, charge });
    }
    Ok(pairs)
}
