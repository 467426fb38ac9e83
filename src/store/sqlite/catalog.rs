//! SQLite: the timetable (stations, trains, fares, trips, seats); implements `CatalogStore`.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;

use super::rows::*;
use super::{SqliteStore, db};
use crate::domain::{
    Coach, Fare, FareRate, SeatClass, SeatLayout, SegmentMask, ServiceDate, Station, StationCode,
    Stop, Train, TripTime, Weekdays,
};
use crate::store::prelude::*;
use crate::store::{
    FareRow, FreeCount, NewStation, NewTrip, SeatRecord, StoreError, StoreResult, TrainRecord,
    TripRecord, Upsert, ts,
};

pub(super) fn station_ids(conn: &Connection) -> StoreResult<HashMap<String, i64>> {
    let mut stmt = conn
        .prepare_cached("SELECT code, id FROM stations")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub(super) fn station_id(ids: &HashMap<String, i64>, code: &StationCode) -> StoreResult<i64> {
    ids.get(code.as_str())
        .copied()
        .ok_or_else(|| StoreError::NotFound(format!("station {code}")))
}

/// Loads trains (all, or the one with `number`) with their stops and coaches in three queries.
pub(super) fn load_trains(conn: &Connection, number: Option<u32>) -> StoreResult<Vec<TrainRecord>> {
    let filter = number.map(|n| n as i64).unwrap_or(-1);
    let mut trains: Vec<TrainRecord> = conn
        .prepare_cached(
            "SELECT id, number, name, name_bn, runs_on FROM trains
             WHERE ?1 < 0 OR number = ?1 ORDER BY number",
        )
        .map_err(db)?
        .query_map([filter], |r| {
            Ok(TrainRecord {
                id: r.get(0)?,
                train: Train {
                    number: r.get(1)?,
                    name: r.get(2)?,
                    name_bn: r.get(3)?,
                    runs_on: Weekdays::from_bits(r.get(4)?),
                    stops: vec![],
                    coaches: vec![],
                },
            })
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    let index: HashMap<i64, usize> = trains.iter().enumerate().map(|(i, t)| (t.id, i)).collect();

    let mut stmt = conn
        .prepare_cached(
            "SELECT s.train_id, st.code, s.arrive_min, s.depart_min, s.km
             FROM train_stops s JOIN stations st ON st.id = s.station_id
             JOIN trains t ON t.id = s.train_id
             WHERE ?1 < 0 OR t.number = ?1 ORDER BY s.train_id, s.seq",
        )
        .map_err(db)?;
    let mut rows = stmt.query([filter]).map_err(db)?;
    while let Some(r) = rows.next().map_err(db)? {
        let train_id: i64 = r.get(0).map_err(db)?;
        let code: String = r.get(1).map_err(db)?;
        let stop = Stop {
            station: StationCode::parse(&code).map_err(|e| StoreError::Backend(e.to_string()))?,
            arrive: r
                .get::<_, Option<u32>>(2)
                .map_err(db)?
                .map(TripTime::from_minutes),
            depart: r
                .get::<_, Option<u32>>(3)
                .map_err(db)?
                .map(TripTime::from_minutes),
            km: r.get(4).map_err(db)?,
        };
        if let Some(&i) = index.get(&train_id) {
            trains[i].train.stops.push(stop);
        }
    }

    let mut stmt = conn
        .prepare_cached(
            "SELECT c.train_id, c.code, c.class, c.seats, c.layout
             FROM train_coaches c JOIN trains t ON t.id = c.train_id
             WHERE ?1 < 0 OR t.number = ?1 ORDER BY c.train_id, c.seq",
        )
        .map_err(db)?;
    let mut rows = stmt.query([filter]).map_err(db)?;
    while let Some(r) = rows.next().map_err(db)? {
        let train_id: i64 = r.get(0).map_err(db)?;
        let layout: String = r.get(4).map_err(db)?;
        let coach = Coach {
            code: r.get(1).map_err(db)?,
            class: parse_class(&r.get::<_, String>(2).map_err(db)?).map_err(db)?,
            seats: r.get(3).map_err(db)?,
            layout: SeatLayout::parse(&layout).map_err(|e| StoreError::Backend(e.to_string()))?,
        };
        if let Some(&i) = index.get(&train_id) {
            trains[i].train.coaches.push(coach);
        }
    }
    Ok(trains)
}

pub(super) fn insert_train_parts(
    conn: &Connection,
    train_id: i64,
    train: &Train,
    ids: &HashMap<String, i64>,
) -> StoreResult<()> {
    let mut stop_stmt = conn
        .prepare_cached(
            "INSERT INTO train_stops (train_id, seq, station_id, arrive_min, depart_min, km)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(db)?;
    for (seq, stop) in train.stops.iter().enumerate() {
        stop_stmt
            .execute(params![
                train_id,
                seq as i64,
                station_id(ids, &stop.station)?,
                stop.arrive.map(|t| t.minutes()),
                stop.depart.map(|t| t.minutes()),
                stop.km
            ])
            .map_err(db)?;
    }
    let mut coach_stmt = conn
        .prepare_cached(
            "INSERT INTO train_coaches (train_id, seq, code, class, seats, layout)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(db)?;
    for (seq, coach) in train.coaches.iter().enumerate() {
        coach_stmt
            .execute(params![
                train_id,
                seq as i64,
                coach.code,
                coach.class.code(),
                coach.seats,
                coach.layout.to_string()
            ])
            .map_err(db)?;
    }
    Ok(())
}

pub(super) fn upsert_train_tx(conn: &Connection, train: &Train) -> StoreResult<Upsert> {
    let ids = station_ids(conn)?;
    let existing = load_trains(conn, Some(train.number))?.into_iter().next();
    let Some(existing) = existing else {
        conn.execute(
            "INSERT INTO trains (number, name, name_bn, runs_on) VALUES (?1, ?2, ?3, ?4)",
            params![
                train.number,
                train.name,
                train.name_bn,
                train.runs_on.bits()
            ],
        )
        .map_err(db)?;
        insert_train_parts(conn, conn.last_insert_rowid(), train, &ids)?;
        return Ok(Upsert::Inserted);
    };
    if &existing.train == train {
        return Ok(Upsert::Unchanged);
    }
    if existing.train.stops != train.stops {
        let trips: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM trips WHERE train_id = ?1",
                [existing.id],
                |r| r.get(0),
            )
            .map_err(db)?;
        if trips > 0 {
            return Err(StoreError::Conflict(format!(
                "train {} has {trips} trips; its stops cannot change under them",
                train.number
            )));
        }
    }
    conn.execute(
        "UPDATE trains SET name = ?2, name_bn = ?3, runs_on = ?4 WHERE id = ?1",
        params![existing.id, train.name, train.name_bn, train.runs_on.bits()],
    )
    .map_err(db)?;
    conn.execute("DELETE FROM train_stops WHERE train_id = ?1", [existing.id])
        .map_err(db)?;
    conn.execute(
        "DELETE FROM train_coaches WHERE train_id = ?1",
        [existing.id],
    )
    .map_err(db)?;
    insert_train_parts(conn, existing.id, train, &ids)?;
    Ok(Upsert::Updated)
}

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

    async fn create_trip(&self, trip: &NewTrip) -> StoreResult<Option<i64>> {
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
                let trip_id = conn.last_insert_rowid();
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

    async fn trip(&self, id: i64) -> StoreResult<Option<TripRecord>> {
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
        journeys: &[(i64, SegmentMask)],
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
                let args: Vec<i64> = journeys.iter().flat_map(|(t, m)| [*t, m.to_db()]).collect();
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

    async fn seats(&self, trip_id: i64) -> StoreResult<Vec<SeatRecord>> {
        self.engine
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, coach_seq, coach_code, seat_no, class, taken FROM seats
                         WHERE trip_id = ?1 ORDER BY coach_seq, seat_no",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map([trip_id], |r| {
                        Ok(SeatRecord {
                            id: r.get(0)?,
                            coach_seq: r.get(1)?,
                            coach_code: r.get(2)?,
                            seat_no: r.get(3)?,
                            class: parse_class(&r.get::<_, String>(4)?)?,
                            taken: SegmentMask::from_db(r.get(5)?),
                        })
                    })
                    .map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            })
            .await
    }
}
