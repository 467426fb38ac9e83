//! Postgres: replication between regions' databases by logical replication
//! (docs/multi-region.md §5.1). Each region publishes the rows it wrote,
//! with a row filter on `origin_region`, and subscribes to the others'.
//!
//! How rows get their origin, and why there are no loops or conflicts:
//! - a trigger stamps every row a region's own sessions insert or update
//!   with that region; the subscription's apply worker runs in replica mode,
//!   where ordinary triggers do not fire, so replicated rows keep theirs and
//!   are never published again (Postgres 15 has no `origin = none`);
//! - the row filter needs `origin_region` in the replica identity: a unique
//!   index on (primary key, origin_region) is that identity;
//! - a row written by one region and then by another (a takeover's sales of
//!   the old home's seats, a user who logs in elsewhere) arrives as an INSERT
//!   of a key the subscriber has: a replica-only trigger replaces the old row
//!   (the newer writer is the trip's current home), so the apply never stops
//!   on a duplicate key.
//!
//! Not replicated, by design (§6): the outbox and SMS queue (each region
//! relays and sends its own), the audit chain (one chain per region),
//! settings (configuration) and the waiting room's sales.
//!
//! Region names are checked by the caller (`parse_region_name`: letters,
//! digits, `-`, `_`) before they reach SQL text here.

use super::{PgStore, db};
use crate::store::{StoreError, StoreResult};

/// Tables whose rows replicate, every one with a primary key.
pub const REPLICATED: &[&str] = &[
    "stations",
    "trains",
    "train_stops",
    "train_coaches",
    "fares",
    "fare_rates",
    "trips",
    "seats",
    "trip_homes",
    "users",
    "refresh_tokens",
    "sessions",
    "person_keys",
    "payment_tokens",
    "holds",
    "hold_seats",
    "orders",
    "order_passengers",
    "idempotency_keys",
    "tickets",
    "cash_charges",
    "counter_sales",
    "counter_refunds",
    "wallet_payments",
    "wallet_callbacks",
    "nid_flags",
    "risk_decisions",
];

fn checked(region: &str) -> StoreResult<String> {
    if !region.is_empty()
        && region.len() <= 32
        && region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(region.to_ascii_lowercase())
    } else {
        Err(StoreError::Conflict(format!("bad region name {region:?}")))
    }
}

fn tables_array() -> String {
    let quoted: Vec<String> = REPLICATED.iter().map(|t| format!("'{t}'")).collect();
    format!("ARRAY[{}]", quoted.join(", "))
}

impl PgStore {
    /// Stamps this database's writes with `region` and publishes them as
    /// `ticketctl_<region>`. Idempotent.
    pub(super) async fn publish(&self, region: &str) -> StoreResult<()> {
        let name = checked(region)?;
        let setup = format!(
            r#"
CREATE OR REPLACE FUNCTION ticketctl_stamp_origin() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN NEW.origin_region := '{region}'; RETURN NEW; END $f$;

CREATE OR REPLACE FUNCTION ticketctl_replica_replace() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE cond TEXT := ''; col TEXT;
BEGIN
    FOREACH col IN ARRAY TG_ARGV LOOP
        cond := cond || CASE WHEN cond = '' THEN '' ELSE ' AND ' END
                     || format('%I = ($1).%I', col, col);
    END LOOP;
    EXECUTE format('DELETE FROM %I.%I WHERE %s', TG_TABLE_SCHEMA, TG_TABLE_NAME, cond) USING NEW;
    RETURN NEW;
END $f$;

DO $d$
DECLARE t TEXT; pk TEXT[];
BEGIN
    FOREACH t IN ARRAY {tables} LOOP
        SELECT array_agg(a.attname::TEXT ORDER BY array_position(i.indkey::int2[], a.attnum))
          INTO pk
          FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
         WHERE i.indrelid = t::regclass AND i.indisprimary;
        EXECUTE format('ALTER TABLE %I ADD COLUMN IF NOT EXISTS origin_region TEXT NOT NULL DEFAULT %L', t, '');
        EXECUTE format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON %I (%s, origin_region)',
            t || '_origin_ident', t, (SELECT string_agg(quote_ident(c), ', ') FROM unnest(pk) c));
        EXECUTE format('ALTER TABLE %I REPLICA IDENTITY USING INDEX %I', t, t || '_origin_ident');
        EXECUTE format('DROP TRIGGER IF EXISTS ticketctl_stamp_origin ON %I', t);
        EXECUTE format('CREATE TRIGGER ticketctl_stamp_origin BEFORE INSERT OR UPDATE ON %I
            FOR EACH ROW EXECUTE FUNCTION ticketctl_stamp_origin()', t);
        EXECUTE format('DROP TRIGGER IF EXISTS ticketctl_replica_replace ON %I', t);
        EXECUTE format('CREATE TRIGGER ticketctl_replica_replace BEFORE INSERT ON %I
            FOR EACH ROW EXECUTE FUNCTION ticketctl_replica_replace(%s)',
            t, (SELECT string_agg(quote_literal(c), ', ') FROM unnest(pk) c));
        EXECUTE format('ALTER TABLE %I ENABLE REPLICA TRIGGER ticketctl_replica_replace', t);
    END LOOP;
END $d$;
"#,
            tables = tables_array()
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)")
                .bind(format!("ticketctl_{name}"))
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        if !exists {
            let filtered: Vec<String> = REPLICATED
                .iter()
                .map(|t| format!("{t} WHERE (origin_region = '{region}')"))
                .collect();
            let create = format!(
                "CREATE PUBLICATION ticketctl_{name} FOR TABLE {}",
                filtered.join(", ")
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                .execute(&self.pool)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    /// Subscribes this database to `region`'s publication at `conninfo` (a
    /// libpq connection string or URL of that region's database), without
    /// copying: both started from the same catalog. Idempotent.
    pub(super) async fn subscribe(&self, region: &str, conninfo: &str) -> StoreResult<()> {
        let name = checked(region)?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subname = $1)")
                .bind(format!("ticketctl_from_{name}"))
                .fetch_one(&self.pool)
                .await
                .map_err(db)?;
        if exists {
            return Ok(());
        }
        let literal = conninfo.replace('\'', "''");
        // Alone, outside a transaction block, as CREATE SUBSCRIPTION must be.
        let create = format!(
            "CREATE SUBSCRIPTION ticketctl_from_{name} CONNECTION '{literal}' \
             PUBLICATION ticketctl_{name} WITH (copy_data = false)"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(create))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}
