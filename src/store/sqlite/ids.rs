//! SQLite: typed ids in and out of SQL. Each id is stored as its integer
//! key, so a typed id binds and reads back like the `i64` it wraps; with
//! these, row mapping reads typed ids straight from their columns.

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::domain::ids::*;

macro_rules! sql_id {
    ($($id:ident),* $(,)?) => {$(
        impl ToSql for $id {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.get()))
            }
        }

        impl FromSql for $id {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($id)
            }
        }
    )*};
}

sql_id!(
    StationId,
    TrainId,
    TripId,
    SeatId,
    HoldId,
    OrderId,
    TicketId,
    UserId,
    SessionId,
    EventId,
    SubjectId,
    AuditEntryId,
);
