//! SQLite: the timetable (stations, trains, fares, trips, seats); implements `CatalogStore`.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::rows::*;
use super::trains::load_trains;
use super::trains::station_id;
use super::trains::station_ids;
use super::trains::upsert_train_tx;
use super::{SqliteStore, db};
use crate::domain::{
    Fare, FareRate, Seat, SeatClass, SegmentMask, ServiceDate, Station, StationCode, Train, TripId,
};
use crate::store::prelude::*;
use crate::store::{
    FareRow, FreeCount, NewStation, NewTrip, StoreError, StoreResult, TrainRecord, TripRecord,
    Upsert, ts,
};

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn upsert_station(&self, s: &NewStation) -> StoreResult<Upsert> {
        let s = s.clone();
        self.engine
            .write(move |conn| {
                let aliases = serde_json::to_string(&s.aliases).expect("strings serialise");
                let existing: Option<(String, Option<String>, String)> = conn
                    .query_row(
                        "SELECT name_en, name_bn, aliases FROM stations WHERE code = ?1",
                        [s.code.as_str()],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()
                    .map_err(db)?;
                match existing {
                    None => {
                        conn.execute(
                            "INSERT INTO stations (code, name_en, name_bn, aliases) VALUES (?1, ?2, ?3, ?4)",
                            params![s.code.as_str(), s.name_en, s.name_bn, aliases],
                        )
                        .map_err(db)?;
                        Ok(Upsert::Inserted)
                    }
                    Some(old) if old == (s.name_en.clone(), s.name_bn.clone(), aliases.clone()) => {
                        Ok(Upsert::Unchanged)
                    }
                    Some(_) => {
                        conn.execute(
                            "UPDATE stations SET name_en = ?2, name_bn = ?3, aliases = ?4 WHERE code = ?1",
                            params![s.code.as_str(), s.name_en, s.name_bn, aliases],
                        )
                        .map_err(db)?;
                        Ok(Upsert::Updated)
                    }
                }
            })
            .await
    }

    async fn list_stations(&self) -> StoreResult<Vec<Station>> {
        self.engine
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, code, name_en, name_bn, aliases FROM stations ORDER BY code",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((
                            r.get(0)?,
                            r.get::<_, String>(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    })
                    .map_err(db)?;
                rows.map(|row| {
                    let (id, code, name_en, name_bn, aliases) = row.map_err(db)?;
                    Ok(Station {
                        id,
                        code: StationCode::parse(&code)
                            .map_err(|e| StoreError::Backend(e.to_string()))?,
                        name_en,
                        name_bn,
                        aliases: serde_json::from_str(&aliases).unwrap_or_default(),
                    })
                })
                .collect()
            })
            .await
    }

    async fn upsert_train(&self, train: &Train) -> StoreResult<Upsert> {
        let train = train.clone();
        self.engine
            .write(move |conn| upsert_train_tx(conn, &train))
            .await
    }

    async fn list_trains(&self) -> StoreResult<Vec<TrainRecord>> {
        self.engine.read(|conn| load_trains(conn, None)).await
    }

    async fn train_by_number(&self, number: u32) -> StoreResult<Option<TrainRecord>> {
        self.engine
            .read(move |conn| Ok(load_trains(conn, Some(number))?.into_iter().next()))
            .await
    }

    async fn upsert_fares(&self, fares: &[FareRow]) -> StoreResult<usize> {
        let fares = fares.to_vec();
        self.engine
            .write(move |conn| {
                let ids = station_ids(conn)?;
                let mut stmt = conn
                    .prepare_cached(
                        "INSERT INTO fares (from_id, to_id, class, base, vat) VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (from_id, to_id, class) DO UPDATE SET base = excluded.base, vat = excluded.vat
                         WHERE fares.base <> excluded.base OR fares.vat <> excluded.vat",
                    )
                    .map_err(db)?;
                let mut changed = 0;
                for f in &fares {
                    changed += stmt
                        .execute(params![
                            station_id(&ids, &f.from)?,
                            station_id(&ids, &f.to)?,
                            f.class.code(),
                            f.fare.base,
                            f.fare.vat
                        ])
                        .map_err(db)?;
                }
                Ok(changed)
            })
            .await
    }

    async fn upsert_fare_rates(&self, rates: &[(SeatClass, FareRate)]) -> StoreResult<usize> {
        let rates = rates.to_vec();
        self.engine
            .write(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "INSERT INTO fare_rates (class, per_km, min_fare, vat_percent) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (class) DO UPDATE SET per_km = excluded.per_km,
                           min_fare = excluded.min_fare, vat_percent = excluded.vat_percent
                         WHERE fare_rates.per_km <> excluded.per_km OR fare_rates.min_fare <> excluded.min_fare
                            OR fare_rates.vat_percent <> excluded.vat_percent",
                    )
                    .map_err(db)?;
                let mut changed = 0;
                for (class, r) in &rates {
                    changed += stmt
                        .execute(params![class.code(), r.per_km, r.min, r.vat_percent])
                        .map_err(db)?;
                }
                Ok(changed)
            })
            .await
    }

    async fn fares_between(
        &self,
        from: &StationCode,
        to: &StationCode,
    ) -> StoreResult<Vec<(SeatClass, Fare)>> {
        let (from, to) = (from.to_string(), to.to_string());
        self.engine
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT f.class, f.base, f.vat FROM fares f
                         JOIN stations a ON a.id = f.from_id JOIN stations b ON b.id = f.to_id
                         WHERE a.code = ?1 AND b.code = ?2 ORDER BY f.class",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map([from, to], |r| {
                        Ok((
                            parse_class(&r.get::<_, String>(0)?)?,
                            Fare {
                                base: r.get(1)?,
                                vat: r.get(2)?,
                            },
                        ))
                    })
                    .map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            })
            .await
    }

    async fn fare_rates(&self) -> StoreResult<Vec<(SeatClass, FareRate)>> {
        self.engine
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT class, per_km, min_fare, vat_percent FROM fare_rates ORDER BY class")
                    .map_err(db)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((
                            parse_class(&r.get::<_, String>(0)?)?,
                            FareRate { per_km: r.get(1)?, min: r.get(2)?, vat_percent: r.get(3)? },
                        ))
                    })
                    .map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            })
            .await
    }

    async fn create_trip(&self, trip: &NewTrip) -> StoreResult<Option<TripId>> {
        let trip = trip.clone();
        self.engine
            .write(move |conn| {
                let inserted = conn
                    .execute(
                        "INSERT INTO trips (train_id, service_date, departs_at, sale_opens_at)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (train_id, service_date) DO NOTHING",
                        params![trip.train_id, trip.date.to_string(), ts(trip.departs_at), ts(trip.sale_opens_at)],
                    )
                    .map_err(db)?;
                if inserted == 0 {
                    return Ok(None);
                }
                let trip_id = TripId(conn.last_insert_rowid());
                let mut stmt = conn
                    .prepare_cached(
                        "INSERT INTO seats (trip_id, coach_seq, coach_code, seat_no, class) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .map_err(db)?;
                for s in &trip.seats {
                    stmt.execute(params![trip_id, s.coach_seq, s.coach_code, s.seat_no, s.class.code()])
                        .map_err(db)?;
                }
                Ok(Some(trip_id))
            })
            .await
    }

    async fn trip(&self, id: TripId) -> StoreResult<Option<TripRecord>> {
        self.engine
            .read(move |conn| {
                conn.prepare_cached(&format!("{TRIP_COLUMNS} WHERE t.id = ?1"))
                    .map_err(db)?
                    .query_row([id], trip_row)
                    .optional()
                    .map_err(db)
            })
            .await
    }

    async fn trips_between(
        &self,
        first: ServiceDate,
        last: ServiceDate,
    ) -> StoreResult<Vec<TripRecord>> {
        self.engine
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "{TRIP_COLUMNS} WHERE t.service_date BETWEEN ?1 AND ?2
                         ORDER BY t.service_date, t.departs_at, tr.number"
                    ))
                    .map_err(db)?;
                let rows = stmt
                    .query_map([first.to_string(), last.to_string()], trip_row)
                    .map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            })
            .await
    }

    async fn free_seat_counts(
        &self,
        journeys: &[(TripId, SegmentMask)],
    ) -> StoreResult<Vec<FreeCount>> {
        if journeys.is_empty() {
            return Ok(vec![]);
        }
        let journeys = journeys.to_vec();
        self.engine
            .read(move |conn| {
                // One query for all trips of a search (no N+1): the journey mask differs per
                // trip because each train numbers its stops differently.
                let values = vec!["(?, ?)"; journeys.len()].join(", ");
                let sql = format!(
                    "WITH j(trip_id, mask) AS (VALUES {values})
                     SELECT s.trip_id, s.class, COUNT(*) FROM seats s JOIN j ON s.trip_id = j.trip_id
                     WHERE (s.taken & j.mask) = 0 GROUP BY s.trip_id, s.class"
                );
                let args: Vec<i64> = journeys.iter().flat_map(|(t, m)| [t.get(), m.to_db()]).collect();
                let mut stmt = conn.prepare(&sql).map_err(db)?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(args), |r| {
                        Ok(FreeCount {
                            trip_id: r.get(0)?,
                            class: parse_class(&r.get::<_, String>(1)?)?,
                            free: r.get(2)?,
                        })
                    })
                    .map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            })
            .await
    }

    async fn seats(&self, trip_id: TripId) -> StoreResult<Vec<Seat>> {
        self.engine
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {SEAT_COLUMNS} FROM seats s
                         WHERE s.trip_id = ?1 ORDER BY s.coach_seq, s.seat_no"
                    ))
                    .map_err(db)?;
                let rows = stmt.query_map([trip_id], seat_row).map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            })
            .await
    }
}
