//! Postgres: typed ids in and out of SQL. Each id is a BIGINT key, so a typed
//! id (or an array of them) binds and decodes exactly as the `i64` it wraps;
//! with these, row mapping reads typed ids straight from their columns.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef, Postgres};
use sqlx::{Decode, Encode, Type};

use crate::domain::ids::*;

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
