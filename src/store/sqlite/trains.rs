//! SQLite: trains with their stops and coaches (loading, and upserting them as one unit).

use rusqlite::{Connection, params};
use std::collections::HashMap;

use super::db;
use super::rows::*;
use crate::domain::{Coach, SeatLayout, StationCode, Stop, Train, TrainId, TripTime, Weekdays};
use crate::store::{StoreError, StoreResult, TrainRecord, Upsert};

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
    let index: HashMap<TrainId, usize> =
        trains.iter().enumerate().map(|(i, t)| (t.id, i)).collect();

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
        let train_id: TrainId = r.get(0).map_err(db)?;
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
        let train_id: TrainId = r.get(0).map_err(db)?;
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
    train_id: TrainId,
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
        insert_train_parts(conn, TrainId(conn.last_insert_rowid()), train, &ids)?;
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
