//! Postgres: trains with their stops and coaches (loading, and upserting them as one unit).

use sqlx::postgres::PgConnection;
use std::collections::HashMap;

use super::db;
use super::rows::*;
use crate::domain::{Coach, SeatLayout, StationCode, Stop, Train, TrainId, TripTime, Weekdays};
use crate::store::{StoreError, StoreResult, TrainRecord, Upsert};

pub(super) async fn station_ids(conn: &mut PgConnection) -> StoreResult<HashMap<String, i64>> {
    let rows = sqlx::query("SELECT code, id FROM stations")
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| Ok((get(r, "code")?, get(r, "id")?)))
        .collect()
}

pub(super) fn station_id(ids: &HashMap<String, i64>, code: &StationCode) -> StoreResult<i64> {
    ids.get(code.as_str())
        .copied()
        .ok_or_else(|| StoreError::NotFound(format!("station {code}")))
}

/// Loads trains (all, or the one with `number`) with stops and coaches in three queries.
pub(super) async fn load_trains(
    conn: &mut PgConnection,
    number: Option<u32>,
) -> StoreResult<Vec<TrainRecord>> {
    let filter = number.map(i64::from).unwrap_or(-1);
    let rows = sqlx::query(
        "SELECT id, number, name, name_bn, runs_on FROM trains WHERE $1 < 0 OR number = $1 ORDER BY number",
    )
    .bind(filter)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut trains = Vec::with_capacity(rows.len());
    for r in &rows {
        trains.push(TrainRecord {
            id: get(r, "id")?,
            train: Train {
                number: get::<i64>(r, "number")? as u32,
                name: get(r, "name")?,
                name_bn: get(r, "name_bn")?,
                runs_on: Weekdays::from_bits(get::<i64>(r, "runs_on")? as u8),
                stops: vec![],
                coaches: vec![],
            },
        });
    }
    let index: HashMap<TrainId, usize> =
        trains.iter().enumerate().map(|(i, t)| (t.id, i)).collect();

    let stops = sqlx::query(
        "SELECT s.train_id, st.code, s.arrive_min, s.depart_min, s.km
         FROM train_stops s JOIN stations st ON st.id = s.station_id JOIN trains t ON t.id = s.train_id
         WHERE $1 < 0 OR t.number = $1 ORDER BY s.train_id, s.seq",
    )
    .bind(filter)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for r in &stops {
        let stop = Stop {
            station: parse(StationCode::parse(&get::<String>(r, "code")?))?,
            arrive: get::<Option<i64>>(r, "arrive_min")?.map(|m| TripTime::from_minutes(m as u32)),
            depart: get::<Option<i64>>(r, "depart_min")?.map(|m| TripTime::from_minutes(m as u32)),
            km: get::<i64>(r, "km")? as u32,
        };
        if let Some(&i) = index.get(&get::<TrainId>(r, "train_id")?) {
            trains[i].train.stops.push(stop);
        }
    }

    let coaches = sqlx::query(
        "SELECT c.train_id, c.code, c.class, c.seats, c.layout
         FROM train_coaches c JOIN trains t ON t.id = c.train_id
         WHERE $1 < 0 OR t.number = $1 ORDER BY c.train_id, c.seq",
    )
    .bind(filter)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for r in &coaches {
        let coach = Coach {
            code: get(r, "code")?,
            class: class(&get::<String>(r, "class")?)?,
            seats: get::<i64>(r, "seats")? as u32,
            layout: parse(SeatLayout::parse(&get::<String>(r, "layout")?))?,
        };
        if let Some(&i) = index.get(&get::<TrainId>(r, "train_id")?) {
            trains[i].train.coaches.push(coach);
        }
    }
    Ok(trains)
}

pub(super) async fn insert_train_parts(
    conn: &mut PgConnection,
    train_id: TrainId,
    train: &Train,
) -> StoreResult<()> {
    let ids = station_ids(conn).await?;
    let mut station_list = Vec::new();
    for stop in &train.stops {
        station_list.push(station_id(&ids, &stop.station)?);
    }
    let seqs: Vec<i64> = (0..train.stops.len() as i64).collect();
    let arrive: Vec<Option<i64>> = train
        .stops
        .iter()
        .map(|s| s.arrive.map(|t| t.minutes() as i64))
        .collect();
    let depart: Vec<Option<i64>> = train
        .stops
        .iter()
        .map(|s| s.depart.map(|t| t.minutes() as i64))
        .collect();
    let km: Vec<i64> = train.stops.iter().map(|s| s.km as i64).collect();
    sqlx::query(
        "INSERT INTO train_stops (train_id, seq, station_id, arrive_min, depart_min, km)
         SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])",
    )
    .bind(train_id)
    .bind(seqs)
    .bind(station_list)
    .bind(arrive)
    .bind(depart)
    .bind(km)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let seqs: Vec<i64> = (0..train.coaches.len() as i64).collect();
    let codes: Vec<String> = train.coaches.iter().map(|c| c.code.clone()).collect();
    let classes: Vec<String> = train
        .coaches
        .iter()
        .map(|c| c.class.code().to_owned())
        .collect();
    let seats: Vec<i64> = train.coaches.iter().map(|c| c.seats as i64).collect();
    let layouts: Vec<String> = train.coaches.iter().map(|c| c.layout.to_string()).collect();
    sqlx::query(
        "INSERT INTO train_coaches (train_id, seq, code, class, seats, layout)
         SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[])",
    )
    .bind(train_id)
    .bind(seqs)
    .bind(codes)
    .bind(classes)
    .bind(seats)
    .bind(layouts)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(super) async fn upsert_train(conn: &mut PgConnection, train: &Train) -> StoreResult<Upsert> {
    let existing = load_trains(conn, Some(train.number))
        .await?
        .into_iter()
        .next();
    let Some(existing) = existing else {
        let id: TrainId = sqlx::query_scalar(
            "INSERT INTO trains (number, name, name_bn, runs_on) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(train.number as i64)
        .bind(&train.name)
        .bind(&train.name_bn)
        .bind(train.runs_on.bits() as i64)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
        insert_train_parts(conn, id, train).await?;
        return Ok(Upsert::Inserted);
    };
    if &existing.train == train {
        return Ok(Upsert::Unchanged);
    }
    if existing.train.stops != train.stops {
        let trips: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM trips WHERE train_id = $1")
            .bind(existing.id)
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        if trips > 0 {
            return Err(StoreError::Conflict(format!(
                "train {} has {trips} trips; its stops cannot change under them",
                train.number
            )));
        }
    }
    sqlx::query("UPDATE trains SET name = $2, name_bn = $3, runs_on = $4 WHERE id = $1")
        .bind(existing.id)
        .bind(&train.name)
        .bind(&train.name_bn)
        .bind(train.runs_on.bits() as i64)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    for table in ["train_stops", "train_coaches"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE train_id = $1"
        )))
        .bind(existing.id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    insert_train_parts(conn, existing.id, train).await?;
    Ok(Upsert::Updated)
}
