//! A seat of one trip's inventory, with the segments holds and sales have taken.

use super::{SeatClass, SeatId, SegmentMask};

#[derive(Debug, Clone, PartialEq)]
pub struct Seat {
    pub id: SeatId,
    pub coach_seq: u32,
    pub coach_code: String,
    pub seat_no: u32,
    pub class: SeatClass,
    /// Segments taken by holds and sales.
    pub taken: SegmentMask,
}

impl Seat {
    /// The seat's printed label, e.g. "KA-12".
    pub fn label(&self) -> String {
        format!("{}-{}", self.coach_code, self.seat_no)
    }
}
