//! Typed ids: a trip id cannot be passed where an order id is wanted.
//!
//! Each id is the database's integer key, wrapped. They serialise as the bare
//! number (`#[serde(transparent)]`), so the JSON API and the outbox payloads
//! look exactly as they did when ids were plain `i64`s, and the OpenAPI
//! document names each one (`TripId`: an integer).

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[schema(value_type = i64, format = Int64)]
        pub struct $name(pub i64);

        impl $name {
            /// The key as the database stores it.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    };
}

id_type!(
    /// A fraud-velocity decision (step-up or block) as recorded.
    RiskDecisionId
);
id_type!(
    /// A station's row (the public name of a station is its code).
    StationId
);
id_type!(
    /// A train (its timetable), not one day's run of it.
    TrainId
);
id_type!(
    /// One day's run of a train.
    TripId
);
id_type!(
    /// One seat of one trip's inventory.
    SeatId
);
id_type!(
    /// A hold on seats for a journey, before an order.
    HoldId
);
id_type!(
    /// An order: the passengers and money for one hold.
    OrderId
);
id_type!(
    /// One issued ticket (one passenger, one seat).
    TicketId
);
id_type!(
    /// A user account (passenger, clerk or admin).
    UserId
);
id_type!(
    /// A sign-in session (a refresh-token family).
    SessionId
);
id_type!(
    /// An outbox event.
    EventId
);
id_type!(
    /// A text message queued for the SMS gateway.
    SmsId
);
id_type!(
    /// What an outbox event is about: an order, a hold or a ticket, as the
    /// event's kind says (`order.*`, `hold.*`, `ticket.*`).
    SubjectId
);
impl SubjectId {
    /// The subject of an `order.*` event.
    pub const fn order(self) -> OrderId {
        OrderId(self.0)
    }

    /// The subject of a `ticket.*` event.
    pub const fn ticket(self) -> TicketId {
        TicketId(self.0)
    }

    /// The subject of a `hold.*` event.
    pub const fn hold(self) -> HoldId {
        HoldId(self.0)
    }
}

id_type!(
    /// One entry of the hash-chained audit log.
    AuditEntryId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialise_as_bare_numbers() {
        assert_eq!(serde_json::to_string(&OrderId(42)).unwrap(), "42");
        let back: TripId = serde_json::from_str("7").unwrap();
        assert_eq!(back, TripId(7));
        assert_eq!(HoldId(3).to_string(), "3");
        assert_eq!(i64::from(UserId(9)), 9);
        assert_eq!("12".parse::<SeatId>(), Ok(SeatId(12)));
        assert!("x".parse::<SeatId>().is_err());
    }
}
