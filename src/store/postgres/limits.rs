//! Postgres side of `LimitStore`: one function call each (migration 0006),
//! which locks the limit's key, counts and writes in one transaction.

use async_trait::async_trait;

use super::PgStore;
use super::booking::order_error;
use super::db;
use super::rows::get;
use super::rows::{created_order, hold_from_rows, seat_cap_max, seat_cap_refusal};
use crate::domain::{Hold, Nid, Order};
use crate::store::{
    CounterBuyer, HoldCap, HoldCaps, LimitStore, NewHold, NewOrder, StoreError, StoreResult, ts,
};

#[async_trait]
impl LimitStore for PgStore {
    async fn create_hold_capped(&self, h: &NewHold, caps: &HoldCaps) -> StoreResult<Hold> {
        let rows = sqlx::query(
            "SELECT * FROM ticketctl_create_hold_capped($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(h.trip_id)
        .bind(h.user_id)
        .bind(h.from_stop as i64)
        .bind(h.to_stop as i64)
        .bind(h.mask.to_db())
        .bind(h.class.code())
        .bind(h.fare)
        .bind(&h.seat_ids)
        .bind(ts(h.now))
        .bind(ts(h.expires_at))
        .bind(seat_cap_max(h.seat_cap))
        .bind(&caps.client_addr)
        .bind(caps.per_account)
        .bind(caps.per_address)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        if let Some(first) = rows.first()
            && let Some(name) = get::<Option<String>>(first, "cap")?
        {
            let cap = HoldCap::parse(&name)
                .ok_or_else(|| StoreError::Backend(format!("unknown hold cap {name}")))?;
            return Err(StoreError::HoldCapReached {
                cap,
                max: get(first, "cap_max")?,
                already: get(first, "already")?,
            });
        }
        hold_from_rows(&rows, h)
    }

    async fn create_counter_order(&self, o: &NewOrder, buyer: &CounterBuyer) -> StoreResult<Order> {
        let names: Vec<&str> = o.passengers.iter().map(|p| p.name.as_str()).collect();
        let nids: Vec<Option<&str>> = o
            .passengers
            .iter()
            .map(|p| p.nid.as_ref().map(Nid::as_str))
            .collect();
        let r = sqlx::query(
            "SELECT * FROM ticketctl_create_counter_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(o.user_id)
        .bind(o.hold_id)
        .bind(names)
        .bind(nids)
        .bind(&o.payment_token)
        .bind(&o.idempotency_key)
        .bind(&o.request_hash)
        .bind(ts(o.now))
        .bind(&buyer.phone)
        .bind(seat_cap_max(Some(buyer.seat_cap)))
        .bind(super::event_slots::order_reserved())
        .fetch_one(&self.pool)
        .await
        .map_err(order_error)?;
        if get::<String>(&r, "outcome")? == "limit" {
            let already: i64 = get(&r, "already")?;
            return Err(match buyer.seat_cap.admit(already, o.passengers.len()) {
                Err(refusal) => StoreError::Conflict(refusal.for_phone(&buyer.phone)),
                Ok(()) => seat_cap_refusal(None, already, o.passengers.len()),
            });
        }
        created_order(&r, o)
    }
}
