//! Postgres: the timetable (stations, trains, fares, trips, seats); implements `CatalogStore`.

use async_trait::async_trait;
use sqlx::postgres::{PgConnection, PgPool};
use std::collections::HashMap;

use super::rows::*;
use super::trains::load_trains;
use super::trains::station_id;
use super::trains::station_ids;
use super::trains::upsert_train;
use super::{PgStore, db};
use crate::domain::{
    Fare, FareRate, Seat, SeatClass, SegmentMask, ServiceDate, Station, StationCode, Train, TripId,
};
use crate::store::prelude::*;
use crate::store::{
    FareRow, FreeCount, NewStation, NewTrip, StoreResult, TrainRecord, TripRecord, Upsert, ts,
};

pub(super) async fn upsert_station(pool: &PgPool, s: &NewStation) -> StoreResult<Upsert> {
    let aliases = serde_json::to_string(&s.aliases).expect("strings serialise");
    let existing = sqlx::query("SELECT name_en, name_bn, aliases FROM stations WHERE code = $1")
        .bind(s.code.as_str())
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    match existing {
        None => {
            sqlx::query(
                "INSERT INTO stations (code, name_en, name_bn, aliases) VALUES ($1, $2, $3, $4)",
            )
            .bind(s.code.as_str())
            .bind(&s.name_en)
            .bind(&s.name_bn)
            .bind(&aliases)
            .execute(pool)
            .await
            .map_err(db)?;
            Ok(Upsert::Inserted)
        }
        Some(r)
            if get::<String>(&r, "name_en")? == s.name_en
                && get::<Option<String>>(&r, "name_bn")? == s.name_bn
                && get::<String>(&r, "aliases")? == aliases =>
        {
            Ok(Upsert::Unchanged)
        }
        Some(_) => {
            sqlx::query(
                "UPDATE stations SET name_en = $2, name_bn = $3, aliases = $4 WHERE code = $1",
            )
            .bind(s.code.as_str())
            .bind(&s.name_en)
            .bind(&s.name_bn)
            .bind(&aliases)
            .execute(pool)
            .await
            .map_err(db)?;
            Ok(Upsert::Updated)
        }
    }
}

pub(super) async fn list_stations(pool: &PgPool) -> StoreResult<Vec<Station>> {
    let rows =
        sqlx::query("SELECT id, code, name_en, name_bn, aliases FROM stations ORDER BY code")
            .fetch_all(pool)
            .await
            .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(Station {
                id: get(r, "id")?,
                code: parse(StationCode::parse(&get::<String>(r, "code")?))?,
                name_en: get(r, "name_en")?,
                name_bn: get(r, "name_bn")?,
                aliases: serde_json::from_str(&get::<String>(r, "aliases")?).unwrap_or_default(),
            })
        })
        .collect()
}

pub(super) async fn upsert_fares(pool: &PgPool, fares: &[FareRow]) -> StoreResult<usize> {
    let mut tx = pool.begin().await.map_err(db)?;
    let ids = station_ids(&mut tx).await?;
    // One statement may not touch a row twice, so a batch naming a fare more
    // than once goes in rounds: round n holds each fare's n-th occurrence.
    // Rounds run in order, so repeats apply in order, as separate calls would.
    let mut seen: HashMap<(i64, i64, &str), usize> = HashMap::new();
    let mut rounds: Vec<FareColumns> = Vec::new();
    for f in fares {
        let (from, to) = (station_id(&ids, &f.from)?, station_id(&ids, &f.to)?);
        let n = seen.entry((from, to, f.class.code())).or_insert(0);
        if rounds.len() <= *n {
            rounds.push(FareColumns::default());
        }
        let round = &mut rounds[*n];
        *n += 1;
        round.from.push(from);
        round.to.push(to);
        round.class.push(f.class.code().to_owned());
        round.base.push(f.fare.base);
        round.vat.push(f.fare.vat);
    }
    let mut changed = 0;
    for round in rounds {
        changed += sqlx::query(
            "INSERT INTO fares (from_id, to_id, class, base, vat)
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[])
             ON CONFLICT (from_id, to_id, class) DO UPDATE SET base = excluded.base, vat = excluded.vat
             WHERE fares.base <> excluded.base OR fares.vat <> excluded.vat",
        )
        .bind(round.from)
        .bind(round.to)
        .bind(round.class)
        .bind(round.base)
        .bind(round.vat)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected() as usize;
    }
    tx.commit().await.map_err(db)?;
    Ok(changed)
}

/// Fares as column arrays, for one UNNEST insert.
#[derive(Default)]
struct FareColumns {
    from: Vec<i64>,
    to: Vec<i64>,
    class: Vec<String>,
    base: Vec<i64>,
    vat: Vec<i64>,
}

pub(super) async fn create_trip(
    conn: &mut PgConnection,
    trip: &NewTrip,
) -> StoreResult<Option<TripId>> {
    let id: Option<TripId> = sqlx::query_scalar(
        "INSERT INTO trips (train_id, service_date, departs_at, sale_opens_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (train_id, service_date) DO NOTHING RETURNING id",
    )
    .bind(trip.train_id)
    .bind(trip.date.to_string())
    .bind(ts(trip.departs_at))
    .bind(ts(trip.sale_opens_at))
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(id) = id else { return Ok(None) };
    let seq: Vec<i64> = trip.seats.iter().map(|s| s.coach_seq as i64).collect();
    let code: Vec<String> = trip.seats.iter().map(|s| s.coach_code.clone()).collect();
    let no: Vec<i64> = trip.seats.iter().map(|s| s.seat_no as i64).collect();
    let class: Vec<String> = trip
        .seats
        .iter()
        .map(|s| s.class.code().to_owned())
        .collect();
    // All seats of the trip in one statement.
    sqlx::query(
        "INSERT INTO seats (trip_id, coach_seq, coach_code, seat_no, class)
         SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::bigint[], $5::text[])",
    )
    .bind(id)
    .bind(seq)
    .bind(code)
    .bind(no)
    .bind(class)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(Some(id))
}

pub(super) async fn trips_where(
    pool: &PgPool,
    clause: &str,
    args: &[String],
) -> StoreResult<Vec<TripRecord>> {
    // Ids arrive as text so one helper serves both lookups; Postgres casts them.
    let clause = clause.replace("t.id = $1", "t.id = $1::bigint");
    let sql = format!(
        "SELECT t.id, t.train_id, tr.number, t.service_date, t.departs_at, t.sale_opens_at
         FROM trips t JOIN trains tr ON tr.id = t.train_id WHERE {clause}
         ORDER BY t.service_date, t.departs_at, tr.number"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for a in args {
        query = query.bind(a.clone());
    }
    let rows = query.fetch_all(pool).await.map_err(db)?;
    rows.iter().map(trip_row).collect()
}

#[async_trait]
impl CatalogStore for PgStore {
    async fn upsert_station(&self, s: &NewStation) -> StoreResult<Upsert> {
        upsert_station(&self.pool, s).await
    }

    async fn list_stations(&self) -> StoreResult<Vec<Station>> {
        list_stations(&self.pool).await
    }

    async fn upsert_train(&self, train: &Train) -> StoreResult<Upsert> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let result = upsert_train(&mut tx, train).await?;
        tx.commit().await.map_err(db)?;
        Ok(result)
    }

    async fn list_trains(&self) -> StoreResult<Vec<TrainRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        load_trains(&mut conn, None).await
    }

    async fn train_by_number(&self, number: u32) -> StoreResult<Option<TrainRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Ok(load_trains(&mut conn, Some(number))
            .await?
            .into_iter()
            .next())
    }

    async fn upsert_fares(&self, fares: &[FareRow]) -> StoreResult<usize> {
        upsert_fares(&self.pool, fares).await
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

    async fn create_trip(&self, trip: &NewTrip) -> StoreResult<Option<TripId>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let id = create_trip(&mut tx, trip).await?;
        tx.commit().await.map_err(db)?;
        Ok(id)
    }

    async fn trip(&self, id: TripId) -> StoreResult<Option<TripRecord>> {
        trips_where(&self.pool, "t.id = $1", &[id.to_string()])
            .await
            .map(|mut v| v.pop())
    }

    async fn trips_between(
        &self,
        first: ServiceDate,
        last: ServiceDate,
    ) -> StoreResult<Vec<TripRecord>> {
        trips_where(
            &self.pool,
            "t.service_date BETWEEN $1 AND $2",
            &[first.to_string(), last.to_string()],
        )
        .await
    }

    async fn free_seat_counts(
        &self,
        journeys: &[(TripId, SegmentMask)],
    ) -> StoreResult<Vec<FreeCount>> {
        if journeys.is_empty() {
            return Ok(vec![]);
        }
        let trips: Vec<TripId> = journeys.iter().map(|(t, _)| *t).collect();
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

    async fn seats(&self, trip_id: TripId) -> StoreResult<Vec<Seat>> {
        let rows = sqlx::query(
            "SELECT id, coach_seq, coach_code, seat_no, class, taken FROM seats
             WHERE trip_id = $1 ORDER BY coach_seq, seat_no",
        )
        .bind(trip_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(super::rows::seat_row).collect()
    }
}
