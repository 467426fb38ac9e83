//! Postgres side of `LimitStore`: one function call each (migration 0006),
//! which locks the limit's key, counts and writes in one transaction.

use async_trait::async_trait;

use super::PgStore;
use super::booking::order_error;
use super::db;
use super::rows::get;
use super::rows::{created_order, hold_from_rows, seat_cap_max};
use crate::domain::{CapScope, Hold, Nid, NidCapReached, NidCaps, Order};
use crate::store::{
    CounterBuyer, HoldCap, HoldCaps, LimitStore, NewHold, NewOrder, StoreError, StoreResult, ts,
};

#[async_trait]
impl LimitStore for PgStore {
    async fn create_hold_capped(&self, h: &NewHold, caps: &HoldCaps) -> StoreResult<Hold> {
        let fence = self.fence_now()?;
        let call = sqlx::query(
            "SELECT * FROM ticketctl_create_hold_capped($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
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
        .bind(caps.nid.map(|c| i64::from(c.per_trip.max())))
        .bind(caps.nid.and_then(|c| c.per_day).map(|c| i64::from(c.max())));
        let target = super::region::FenceTarget::Trip(h.trip_id);
        let rows = super::region::fetch_fenced(&self.pool, fence.as_ref(), target, call)
            .await
            .map_err(db)?;
        if let Some(first) = rows.first()
            && let Some(name) = get::<Option<String>>(first, "cap")?
        {
            if let Some(caps) = caps.nid
                && let Some(refusal) = nid_refusal(&name, caps, first, h.seat_ids.len())?
            {
                return Err(refusal);
            }
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
        let fence = self.fence_now()?;
        let call = sqlx::query(
            "SELECT * FROM ticketctl_create_counter_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        .bind(buyer.nid.as_str())
        .bind(i64::from(buyer.caps.per_trip.max()))
        .bind(buyer.caps.per_day.map(|c| i64::from(c.max())))
        .bind(super::event_slots::order_reserved());
        let target = super::region::FenceTarget::Hold(o.hold_id);
        let r = super::region::fetch_fenced(&self.pool, fence.as_ref(), target, call)
            .await
            .map_err(order_error)?
            .into_iter()
            .next()
            .ok_or_else(|| db(sqlx::Error::RowNotFound))?;
        if matches!(get::<String>(&r, "outcome")?.as_str(), "limit" | "flagged") {
            let name: String = get(&r, "cap")?;
            return Err(nid_refusal(&name, buyer.caps, &r, o.passengers.len())?
                .unwrap_or_else(|| StoreError::Backend(format!("unknown NID refusal {name}"))));
        }
        created_order(&r, o)
    }
}

/// The refusal a function reported by the name of the NID rule that refused
/// (`None`: not an NID rule). A cap's refusal is decided again by the cap
/// itself, so its words are the domain's (a disagreement is a bug).
fn nid_refusal(
    name: &str,
    caps: NidCaps,
    row: &sqlx::postgres::PgRow,
    wanted: usize,
) -> StoreResult<Option<StoreError>> {
    let scope = match name {
        "nid_required" => return Ok(Some(StoreError::NidRequired)),
        "nid_flagged" => return Ok(Some(StoreError::NidFlagged)),
        "seats_per_nid_per_trip" => CapScope::Trip,
        "seats_per_nid_per_day" => CapScope::Day,
        _ => return Ok(None),
    };
    let already: i64 = get(row, "already")?;
    let (on_trip, on_day) = match scope {
        CapScope::Trip => (already, 0),
        CapScope::Day => (0, already),
    };
    Ok(Some(match caps.admit(on_trip, on_day, wanted) {
        Err(refusal @ NidCapReached { .. }) if refusal.scope == scope => {
            StoreError::NidCapReached(refusal)
        }
        _ => StoreError::Backend(format!(
            "the NID cap {name} refused {wanted} seat(s) beside {already}, which {caps:?} admits"
        )),
    }))
}
