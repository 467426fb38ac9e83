//! SQLite: typed ids, statuses and parsed text in and out of SQL. An id is
//! stored as its integer key, so it binds and reads back like the `i64` it
//! wraps; a status (or a passenger's name or NID) is stored as its text and
//! parsed here, the only place it is read back from text. With these, row
//! mapping reads typed columns straight into typed fields.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::domain::ids::*;
use crate::domain::wallet::{WalletProvider, WalletState};
use crate::domain::{ChargeStatus, HoldStatus, Nid, OrderStatus, PassengerName, TicketStatus};

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

macro_rules! sql_text {
    ($($status:ident),* $(,)?) => {$(
        impl ToSql for $status {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $status {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e: crate::domain::ParseError| FromSqlError::Other(Box::new(e)))
            }
        }
    )*};
}

sql_text!(
    OrderStatus,
    HoldStatus,
    TicketStatus,
    ChargeStatus,
    PassengerName,
    Nid,
    WalletProvider,
    WalletState,
);
