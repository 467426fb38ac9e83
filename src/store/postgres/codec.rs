//! Postgres: typed ids, statuses and parsed text in and out of SQL. An id is a
//! BIGINT key, so a typed id (or an array of them) binds and decodes exactly as
//! the `i64` it wraps; a status (or a passenger's name or NID) is TEXT, parsed
//! here, the only place it is read back from text. With these, row mapping
//! reads typed columns straight into typed fields.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef, Postgres};
use sqlx::{Decode, Encode, Type};

use crate::domain::ids::*;
use crate::domain::wallet::{WalletProvider, WalletState};
use crate::domain::{ChargeStatus, HoldStatus, Nid, OrderStatus, PassengerName, TicketStatus};

macro_rules! sql_id {
    ($($id:ident),* $(,)?) => {$(
        impl Type<Postgres> for $id {
            fn type_info() -> PgTypeInfo {
                <i64 as Type<Postgres>>::type_info()
            }

            fn compatible(ty: &PgTypeInfo) -> bool {
                <i64 as Type<Postgres>>::compatible(ty)
            }
        }

        impl PgHasArrayType for $id {
            fn array_type_info() -> PgTypeInfo {
                <i64 as PgHasArrayType>::array_type_info()
            }
        }

        impl Encode<'_, Postgres> for $id {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <i64 as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
            }
        }

        impl Decode<'_, Postgres> for $id {
            fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
                <i64 as Decode<'_, Postgres>>::decode(value).map($id)
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
        impl Type<Postgres> for $status {
            fn type_info() -> PgTypeInfo {
                <&str as Type<Postgres>>::type_info()
            }

            fn compatible(ty: &PgTypeInfo) -> bool {
                <&str as Type<Postgres>>::compatible(ty)
            }
        }

        impl PgHasArrayType for $status {
            fn array_type_info() -> PgTypeInfo {
                <&str as PgHasArrayType>::array_type_info()
            }
        }

        impl Encode<'_, Postgres> for $status {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'_, Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl Decode<'_, Postgres> for $status {
            fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
                Ok(<&str as Decode<'_, Postgres>>::decode(value)?.parse()?)
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
