//! Plain records passed across the store boundary.

use chrono::{DateTime, Utc};

use crate::domain::{Fare, Role, SeatClass, SegmentMask, ServiceDate, StationCode, Train};

#[derive(Debug, Clone, PartialEq)]
pub struct NewStation {
    pub code: StationCode,
    pub name_en: String,
    pub name_bn: Option<String>,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainRecord {
    pub id: i64,
    pub train: Train,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FareRow {
    pub from: StationCode,
    pub to: StationCode,
    pub class: SeatClass,
    pub fare: Fare,
}

/// One seat of a new trip's inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct SeatSpec {
    pub coach_seq: u32,
    pub coach_code: String,
    pub seat_no: u32,
    pub class: SeatClass,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTrip {
    pub train_id: i64,
    pub date: ServiceDate,
    pub departs_at: DateTime<Utc>,
    pub sale_opens_at: DateTime<Utc>,
    pub seats: Vec<SeatSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TripRecord {
    pub id: i64,
    pub train_id: i64,
    pub train_number: u32,
    pub date: ServiceDate,
    pub departs_at: DateTime<Utc>,
    pub sale_opens_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SeatRecord {
    pub id: i64,
    pub coach_seq: u32,
    pub coach_code: String,
    pub seat_no: u32,
    pub class: SeatClass,
    /// Segments taken by holds and sales.
    pub taken: SegmentMask,
}

impl SeatRecord {
    /// The seat's printed label, e.g. "KA-12".
    pub fn label(&self) -> String {
        format!("{}-{}", self.coach_code, self.seat_no)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeCount {
    pub trip_id: i64,
    pub class: SeatClass,
    pub free: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub totp_secret: Option<String>,
    pub mfa_enabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Counts {
    pub stations: i64,
    pub trains: i64,
    pub train_stops: i64,
    pub coaches: i64,
    pub fares: i64,
    pub trips: i64,
    pub seats: i64,
    pub users: i64,
}

pub(crate) fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}
