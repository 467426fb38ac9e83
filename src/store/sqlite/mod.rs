//! SQLite implementation of `Store` (the embedded default), via `rusqlite`.

mod booking;
mod counter;
mod engine;
mod identity;
mod limits;
mod money;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use std::collections::HashMap;
use std::path::Path;

use crate::domain::OrderStatus;
use crate::domain::{
    Coach, Fare, FareRate, Role, SeatClass, SeatLayout, SegmentMask, ServiceDate, Station,
    StationCode, Stop, Train, TripTime, Weekdays,
};
use crate::store::{
    AuditRecord, Confirmation, Consumer, GatewayCharge, HoldRecord, IdempotencyRecord, Ledger,
    NewHold, NewOrder, NewTicket, OrderChange, OrderRecord, OutboxEvent, PaymentToken, SeatClaim,
    TicketRecord,
};
use crate::store::{
    Backend, Counts, FareRow, FreeCount, NewStation, NewTrip, NewUser, SeatRecord, Store,
    StoreError, StoreResult, TrainRecord, TripRecord, Upsert, User, from_ts, ts,
};
use engine::Engine;

const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!(
        "../../../migrations/sqlite/0001_catalog_identity.sql"
    )),
    M::up(include_str!("../../../migrations/sqlite/0002_booking.sql")),
    M::up(include_str!("../../../migrations/sqlite/0003_counter.sql")),
    M::up(include_str!(
        "../../../migrations/sqlite/0005_identity_sessions.sql"
    )),
    M::up(include_str!(
        "../../../migrations/sqlite/0006_booking_limits.sql"
    )),
];

pub struct SqliteStore {
    engine: Engine,
}

impl SqliteStore {
    pub fn open(path: &Path) -> StoreResult<Self> {
        Ok(SqliteStore {
            engine: Engine::open(path)?,
        })
    }
}

/// Maps driver errors: constraint violations are the caller's conflict, the rest are ours.
fn db(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(msg.clone().unwrap_or_else(|| e.to_string()))
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

fn parse_class(s: &str) -> rusqlite::Result<SeatClass> {
    s.parse().map_err(|e: crate::domain::ParseError| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn station_ids(conn: &Connection) -> StoreResult<HashMap<String, i64>> {
    let mut stmt = conn
        .prepare_cached("SELECT code, id FROM stations")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

fn station_id(ids: &HashMap<String, i64>, code: &StationCode) -> StoreResult<i64> {
    ids.get(code.as_str())
        .copied()
        .ok_or_else(|| StoreError::NotFound(format!("station {code}")))
}

/// Loads trains (all, or the one with `number`) with their stops and coaches in three queries.
fn load_trains(conn: &Connection, number: Option<u32>) -> StoreResult<Vec<TrainRecord>> {
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

fn insert_train_parts(
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

fn upsert_train_tx(conn: &Connection, train: &Train) -> StoreResult<Upsert> {
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

const TRIP_COLUMNS: &str =
    "SELECT t.id, t.train_id, tr.number, t.service_date, t.departs_at, t.sale_opens_at
     FROM trips t JOIN trains tr ON tr.id = t.train_id";

fn trip_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TripRecord> {
    let date: String = r.get(3)?;
    Ok(TripRecord {
        id: r.get(0)?,
        train_id: r.get(1)?,
        train_number: r.get(2)?,
        date: ServiceDate::parse(&date).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?,
        departs_at: from_ts(r.get(4)?),
        sale_opens_at: from_ts(r.get(5)?),
    })
}

const USER_COLUMNS: &str = "SELECT id, name, phone, email, password_hash, role, totp_secret,
     mfa_enabled, failed_logins, locked_until, created_at FROM users";

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(5)?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        phone: r.get(2)?,
        email: r.get(3)?,
        password_hash: r.get(4)?,
        role: role.parse().map_err(|e: crate::domain::ParseError| {
            rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
        })?,
        totp_secret: r.get(6)?,
        mfa_enabled: r.get(7)?,
        failed_logins: r.get(8)?,
        locked_until: r.get::<_, Option<i64>>(9)?.map(from_ts),
        created_at: from_ts(r.get(10)?),
    })
}

fn user_where(
    conn: &Connection,
    clause: &str,
    arg: impl rusqlite::ToSql,
) -> StoreResult<Option<User>> {
    conn.prepare_cached(&format!("{USER_COLUMNS} WHERE {clause}"))
        .map_err(db)?
        .query_row([arg], user_row)
        .optional()
        .map_err(db)
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> StoreResult<usize> {
        self.engine
            .exclusive(|conn| {
                let before: i64 = conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))
                    .map_err(db)?;
                Migrations::from_slice(MIGRATIONS)
                    .to_latest(conn)
                    .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))?;
                Ok(MIGRATIONS.len().saturating_sub(before as usize))
            })
            .await
    }

    async fn is_migrated(&self) -> StoreResult<bool> {
        self.engine
            .read(|conn| {
                let v: i64 = conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))
                    .map_err(db)?;
                Ok(v as usize >= MIGRATIONS.len())
            })
            .await
    }

    async fn setting_or_init(&self, key: &str, init: &str) -> StoreResult<String> {
        let (key, init) = (key.to_owned(), init.to_owned());
        self.engine
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
                    params![key, init],
                )
                .map_err(db)?;
                conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .map_err(db)
            })
            .await
    }

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

    async fn create_user(&self, u: &NewUser) -> StoreResult<User> {
        let u = u.clone();
        self.engine
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO users (name, phone, email, password_hash, role, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        u.name,
                        u.phone,
                        u.email,
                        u.password_hash,
                        u.role.as_str(),
                        ts(u.created_at)
                    ],
                )
                .map_err(|e| match db(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(
                        "a user with this phone or e-mail already exists".into(),
                    ),
                    other => other,
                })?;
                user_where(conn, "id = ?1", conn.last_insert_rowid())?
                    .ok_or_else(|| StoreError::Backend("inserted user vanished".into()))
            })
            .await
    }

    async fn user(&self, id: i64) -> StoreResult<Option<User>> {
        self.engine
            .read(move |conn| user_where(conn, "id = ?1", id))
            .await
    }

    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        let login = login.to_owned();
        self.engine
            .read(move |conn| user_where(conn, "phone = ?1 OR email = ?1", login))
            .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.engine
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached(&format!("{USER_COLUMNS} ORDER BY id"))
                    .map_err(db)?;
                let rows = stmt.query_map([], user_row).map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            })
            .await
    }

    async fn set_role(&self, id: i64, role: Role) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                match conn
                    .execute(
                        "UPDATE users SET role = ?2 WHERE id = ?1",
                        params![id, role.as_str()],
                    )
                    .map_err(db)?
                {
                    0 => Err(StoreError::NotFound(format!("user {id}"))),
                    _ => Ok(()),
                }
            })
            .await
    }

    async fn record_failed_login(
        &self,
        id: i64,
        now: DateTime<Utc>,
        max_failures: i64,
        lock_for: chrono::Duration,
    ) -> StoreResult<User> {
        self.engine
            .write(move |conn| {
                // Locking resets the counter, so after the lock a user gets a fresh set of tries.
                conn.execute(
                    "UPDATE users SET
                       locked_until = CASE WHEN failed_logins + 1 >= ?2 THEN ?3 ELSE locked_until END,
                       failed_logins = CASE WHEN failed_logins + 1 >= ?2 THEN 0 ELSE failed_logins + 1 END
                     WHERE id = ?1",
                    params![id, max_failures, ts(now + lock_for)],
                )
                .map_err(db)?;
                user_where(conn, "id = ?1", id)?.ok_or_else(|| StoreError::NotFound(format!("user {id}")))
            })
            .await
    }

    async fn clear_failed_logins(&self, id: i64) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                conn.execute(
                    "UPDATE users SET failed_logins = 0, locked_until = NULL
                     WHERE id = ?1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
                    [id],
                )
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn set_totp(&self, id: i64, secret: Option<&str>, enabled: bool) -> StoreResult<()> {
        let secret = secret.map(str::to_owned);
        self.engine
            .write(move |conn| {
                conn.execute(
                    "UPDATE users SET totp_secret = ?2, mfa_enabled = ?3 WHERE id = ?1",
                    params![id, secret, enabled],
                )
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn insert_refresh_token(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.engine
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO refresh_tokens (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
                    params![token_hash, user_id, ts(expires_at)],
                )
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn take_refresh_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        let token_hash = token_hash.to_owned();
        self.engine
            .write(move |conn| {
                let row: Option<(i64, i64)> = conn
                    .query_row(
                        "DELETE FROM refresh_tokens WHERE token_hash = ?1 RETURNING user_id, expires_at",
                        [token_hash],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(db)?;
                Ok(row.filter(|(_, exp)| *exp > ts(now)).map(|(user, _)| user))
            })
            .await
    }

    async fn counts(&self) -> StoreResult<Counts> {
        self.engine
            .read(|conn| {
                conn.query_row(
                    "SELECT (SELECT COUNT(*) FROM stations), (SELECT COUNT(*) FROM trains),
                            (SELECT COUNT(*) FROM train_stops), (SELECT COUNT(*) FROM train_coaches),
                            (SELECT COUNT(*) FROM fares), (SELECT COUNT(*) FROM trips),
                            (SELECT COUNT(*) FROM seats), (SELECT COUNT(*) FROM users)",
                    [],
                    |r| {
                        Ok(Counts {
                            stations: r.get(0)?,
                            trains: r.get(1)?,
                            train_stops: r.get(2)?,
                            coaches: r.get(3)?,
                            fares: r.get(4)?,
                            trips: r.get(5)?,
                            seats: r.get(6)?,
                            users: r.get(7)?,
                        })
                    },
                )
                .map_err(db)
            })
            .await
    }

    async fn create_hold(&self, hold: &NewHold) -> StoreResult<HoldRecord> {
        let hold = hold.clone();
        self.engine
            .write(move |c| booking::create_hold(c, &hold))
            .await
    }

    async fn hold(&self, id: i64) -> StoreResult<Option<HoldRecord>> {
        self.engine.read(move |c| booking::load_hold(c, id)).await
    }

    async fn release_hold(&self, id: i64, user_id: i64) -> StoreResult<bool> {
        self.engine
            .write(move |c| booking::release_hold(c, id, user_id))
            .await
    }

    async fn expire_holds(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<i64>> {
        self.engine
            .write(move |c| booking::expire_holds(c, now, limit))
            .await
    }

    async fn create_order(&self, order: &NewOrder) -> StoreResult<OrderRecord> {
        let order = order.clone();
        self.engine
            .write(move |c| booking::create_order(c, &order))
            .await
    }

    async fn order(&self, id: i64) -> StoreResult<Option<OrderRecord>> {
        self.engine.read(move |c| booking::load_order(c, id)).await
    }

    async fn orders_of_user(&self, user_id: i64) -> StoreResult<Vec<OrderRecord>> {
        self.engine
            .read(move |c| booking::orders_where(c, "user_id = ?1", [user_id]))
            .await
    }

    async fn orders_stuck(
        &self,
        statuses: &[OrderStatus],
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<OrderRecord>> {
        let statuses: Vec<String> = statuses.iter().map(|s| s.as_str().to_owned()).collect();
        self.engine
            .read(move |c| {
                let list = serde_json::to_string(&statuses).expect("strings serialise");
                booking::orders_where(
                    c,
                    "status IN (SELECT value FROM json_each(?1)) AND updated_at <= ?2",
                    params![list, ts(before)],
                )
            })
            .await
    }

    async fn transition_order(
        &self,
        id: i64,
        from: OrderStatus,
        to: OrderStatus,
        change: &OrderChange,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let change = change.clone();
        self.engine
            .write(move |c| booking::transition_order(c, id, from, to, &change, now))
            .await
    }

    async fn confirm_order(&self, c: Confirmation) -> StoreResult<Option<Vec<TicketRecord>>> {
        self.engine
            .write(move |conn| booking::confirm_order(conn, c))
            .await
    }

    async fn idempotency(&self, user_id: i64, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        let key = key.to_owned();
        self.engine
            .read(move |c| booking::idempotency(c, user_id, &key))
            .await
    }

    async fn finish_idempotency(
        &self,
        user_id: i64,
        key: &str,
        status_code: u16,
        response: &str,
    ) -> StoreResult<()> {
        let (key, response) = (key.to_owned(), response.to_owned());
        self.engine
            .write(move |c| booking::finish_idempotency(c, user_id, &key, status_code, &response))
            .await
    }

    async fn insert_payment_token(
        &self,
        token: &PaymentToken,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let token = token.clone();
        self.engine
            .write(move |c| booking::insert_payment_token(c, &token, now))
            .await
    }

    async fn payment_token(&self, token: &str) -> StoreResult<Option<PaymentToken>> {
        let token = token.to_owned();
        self.engine
            .read(move |c| booking::payment_token(c, &token))
            .await
    }

    async fn gateway_record(
        &self,
        charge: &GatewayCharge,
        now: DateTime<Utc>,
    ) -> StoreResult<GatewayCharge> {
        let charge = charge.clone();
        self.engine
            .write(move |c| booking::gateway_record(c, &charge, now))
            .await
    }

    async fn gateway_charge(&self, idempotency_key: &str) -> StoreResult<Option<GatewayCharge>> {
        let key = idempotency_key.to_owned();
        self.engine
            .read(move |c| booking::gateway_charge(c, &key))
            .await
    }

    async fn gateway_refund(&self, charge_id: &str, amount: i64) -> StoreResult<GatewayCharge> {
        let charge_id = charge_id.to_owned();
        self.engine
            .write(move |c| booking::gateway_refund(c, &charge_id, amount))
            .await
    }

    async fn issue_tickets(&self, tickets: &[NewTicket], now: DateTime<Utc>) -> StoreResult<usize> {
        let tickets = tickets.to_vec();
        self.engine
            .write(move |c| booking::issue_tickets(c, &tickets, now))
            .await
    }

    async fn tickets_of_order(&self, order_id: i64) -> StoreResult<Vec<TicketRecord>> {
        self.engine
            .read(move |c| booking::tickets_where(c, "order_id = ?1", order_id))
            .await
    }

    async fn ticket(&self, id: i64) -> StoreResult<Option<TicketRecord>> {
        self.engine
            .read(move |c| Ok(booking::tickets_where(c, "id = ?1", id)?.pop()))
            .await
    }

    async fn ticket_by_pnr(&self, pnr: &str) -> StoreResult<Option<TicketRecord>> {
        let pnr = pnr.to_owned();
        self.engine
            .read(move |c| Ok(booking::tickets_where(c, "pnr = ?1", pnr)?.pop()))
            .await
    }

    async fn outbox_pending(
        &self,
        consumer: Consumer,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEvent>> {
        self.engine
            .read(move |c| booking::outbox_pending(c, consumer, limit))
            .await
    }

    async fn outbox_mark(
        &self,
        consumer: Consumer,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let ids = ids.to_vec();
        self.engine
            .write(move |c| booking::outbox_mark(c, consumer, &ids, now))
            .await
    }

    async fn audit_append(&self, event: &OutboxEvent) -> StoreResult<()> {
        let event = event.clone();
        self.engine
            .write(move |c| booking::audit_append(c, &event))
            .await
    }

    async fn audit_append_all(&self, events: &[OutboxEvent]) -> StoreResult<()> {
        let events = events.to_vec();
        self.engine
            .write(move |c| events.iter().try_for_each(|e| booking::audit_append(c, e)))
            .await
    }

    async fn audit_log(&self) -> StoreResult<Vec<AuditRecord>> {
        self.engine.read(booking::audit_log).await
    }

    async fn seat_claims(&self, trip_id: Option<i64>) -> StoreResult<Vec<SeatClaim>> {
        self.engine
            .read(move |c| booking::seat_claims(c, trip_id))
            .await
    }

    async fn ledger(&self) -> StoreResult<Ledger> {
        self.engine.read(booking::ledger).await
    }

    async fn money_pairs(&self) -> StoreResult<Vec<crate::store::MoneyPair>> {
        self.engine.read(money::money_pairs).await
    }
}
