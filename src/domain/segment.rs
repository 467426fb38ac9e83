//! Segments and segment masks: the unit of seat inventory.
//!
//! A trip with stops `0..n` has segments `0..n-1`; segment `k` is the leg from
//! stop `k` to stop `k+1`. A journey from stop `i` to stop `j` (i < j) occupies
//! segments `i..j`. Each seat of a trip carries a 64-bit mask of the segments
//! already taken, so "is this seat free for that journey" is one AND.

use super::ParseError;

/// At most 63 segments (64 stops) per trip, so a mask always fits a signed
/// 64-bit database integer without touching the sign bit.
pub const MAX_SEGMENTS: usize = 63;

/// A set of segments of one trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SegmentMask(u64);

impl SegmentMask {
    pub const EMPTY: SegmentMask = SegmentMask(0);

    pub fn from_bits(bits: u64) -> Self {
        SegmentMask(bits)
    }

    /// The mask as stored in a signed BIGINT column (always non-negative).
    pub fn from_db(bits: i64) -> Self {
        SegmentMask(bits as u64)
    }

    pub fn to_db(self) -> i64 {
        self.0 as i64
    }

    pub fn bits(self) -> u64 {
        self.0
    }

    pub fn overlaps(self, other: SegmentMask) -> bool {
        self.0 & other.0 != 0
    }

    pub fn union(self, other: SegmentMask) -> SegmentMask {
        SegmentMask(self.0 | other.0)
    }

    /// Removes exactly `other`'s bits (used when a hold expires or an order is cancelled).
    pub fn without(self, other: SegmentMask) -> SegmentMask {
        SegmentMask(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn count(self) -> u32 {
        self.0.count_ones()
    }
}

/// A passenger's journey on one trip: board at stop `from`, leave at stop `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Journey {
    from: usize,
    to: usize,
}

impl Journey {
    /// `stop_count` is the number of stops of the train, so the last valid `to` is `stop_count - 1`.
    pub fn new(from: usize, to: usize, stop_count: usize) -> Result<Self, ParseError> {
        if stop_count > MAX_SEGMENTS + 1 {
            return Err(ParseError::new(
                "journey",
                format!("a trip may have at most {} stops", MAX_SEGMENTS + 1),
            ));
        }
        if from >= to {
            return Err(ParseError::new(
                "journey",
                "the destination must come after the origin on this train",
            ));
        }
        if to >= stop_count {
            return Err(ParseError::new("journey", "stop index out of range"));
        }
        Ok(Journey { from, to })
    }

    pub fn from_stop(self) -> usize {
        self.from
    }

    pub fn to_stop(self) -> usize {
        self.to
    }

    /// The segments `from..to`.
    pub fn mask(self) -> SegmentMask {
        // bits from..to set: ((1 << to) - 1) & !((1 << from) - 1); `to` <= 63 so no overflow.
        let upper = (1u64 << self.to) - 1;
        let lower = (1u64 << self.from) - 1;
        SegmentMask(upper & !lower)
    }

    pub fn segment_count(self) -> usize {
        self.to - self.from
    }

    pub fn conflicts_with(self, other: Journey) -> bool {
        self.mask().overlaps(other.mask())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dhaka_feni_and_feni_chattogram_share_no_segment() {
        // stops: 0 Dhaka, 1 Airport, 2 Feni, 3 Chattogram
        let dhaka_feni = Journey::new(0, 2, 4).unwrap();
        let feni_ctg = Journey::new(2, 3, 4).unwrap();
        let dhaka_ctg = Journey::new(0, 3, 4).unwrap();
        assert!(!dhaka_feni.conflicts_with(feni_ctg));
        assert!(dhaka_ctg.conflicts_with(dhaka_feni));
        assert!(dhaka_ctg.conflicts_with(feni_ctg));
        assert_eq!(dhaka_feni.mask().bits(), 0b011);
        assert_eq!(feni_ctg.mask().bits(), 0b100);
    }

    #[test]
    fn rejects_backwards_empty_and_out_of_range_journeys() {
        assert!(Journey::new(2, 2, 4).is_err());
        assert!(Journey::new(3, 1, 4).is_err());
        assert!(Journey::new(0, 4, 4).is_err());
        assert!(Journey::new(0, 1, 65).is_err());
    }

    #[test]
    fn full_63_segment_journey_fits_a_signed_column() {
        let j = Journey::new(0, 63, 64).unwrap();
        assert_eq!(j.mask().count(), 63);
        assert!(j.mask().to_db() > 0);
        assert_eq!(SegmentMask::from_db(j.mask().to_db()), j.mask());
    }

    proptest! {
        #[test]
        fn journey_occupies_exactly_its_segments(from in 0usize..63, len in 1usize..64) {
            let to = (from + len).min(63);
            prop_assume!(from < to);
            let j = Journey::new(from, to, 64).unwrap();
            for seg in 0..63 {
                let set = j.mask().bits() & (1u64 << seg) != 0;
                prop_assert_eq!(set, seg >= from && seg < to, "segment {}", seg);
            }
            prop_assert_eq!(j.mask().count() as usize, j.segment_count());
        }

        #[test]
        fn journeys_conflict_iff_ranges_overlap(a in 0usize..63, b in 0usize..63, c in 0usize..63, d in 0usize..63) {
            let (a, b) = (a.min(b), a.max(b) + 1);
            let (c, d) = (c.min(d), c.max(d) + 1);
            let x = Journey::new(a, b, 64).unwrap();
            let y = Journey::new(c, d, 64).unwrap();
            let ranges_overlap = a < d && c < b;
            prop_assert_eq!(x.conflicts_with(y), ranges_overlap);
            prop_assert_eq!(y.conflicts_with(x), ranges_overlap);
        }

        #[test]
        fn releasing_a_journey_clears_only_its_bits(a in 0usize..31, b in 32usize..63) {
            let first = Journey::new(a, 31, 64).unwrap();
            let second = Journey::new(32, b + 1, 64).unwrap();
            let seat = SegmentMask::EMPTY.union(first.mask()).union(second.mask());
            prop_assert_eq!(seat.without(first.mask()), second.mask());
        }
    }
}
