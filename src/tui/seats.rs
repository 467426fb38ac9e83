//! Where each seat of a coach sits on screen: rows across the coach with the
//! aisle where the coach has it ("2+2": two seats, aisle, two seats; "2+1";
//! berths in cabins of four), and how the cursor moves between them.

use super::wire::Coach;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Left,
    Right,
    Up,
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// Seats in one row across the coach.
    pub per_row: usize,
    /// The aisle comes after this many seats of a row.
    pub aisle_after: usize,
    numbers: Vec<u32>,
}

impl Grid {
    pub fn of(coach: &Coach) -> Grid {
        let (per_row, aisle_after) = match coach.layout.split_once('+') {
            Some((l, r)) => match (l.trim().parse::<usize>(), r.trim().parse::<usize>()) {
                (Ok(l), Ok(r)) if l > 0 && r > 0 => (l + r, l),
                _ => (4, 2),
            },
            // Berths: cabins of four, two either side of the cabin's gangway.
            None => (4, 2),
        };
        Grid {
            per_row,
            aisle_after,
            numbers: coach.seats.iter().map(|s| s.number).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    pub fn rows(&self) -> usize {
        self.len().div_ceil(self.per_row)
    }

    /// (row, column) of the seat at `index`.
    pub fn position(&self, index: usize) -> (usize, usize) {
        (index / self.per_row, index % self.per_row)
    }

    pub fn step(&self, cursor: usize, m: Move) -> usize {
        if self.is_empty() {
            return 0;
        }
        let last = self.len() - 1;
        let next = match m {
            Move::Left => cursor.saturating_sub(1),
            Move::Right => cursor + 1,
            Move::Up => cursor.checked_sub(self.per_row).unwrap_or(cursor),
            Move::Down if cursor + self.per_row <= last => cursor + self.per_row,
            Move::Down => cursor,
        };
        next.min(last)
    }

    /// The seat whose number is `typed` ("12"), if the coach has it.
    pub fn index_of_number(&self, typed: &str) -> Option<usize> {
        let n: u32 = typed.parse().ok()?;
        self.numbers.iter().position(|&x| x == n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::wire::Seat;

    fn coach(layout: &str, seats: u32) -> Coach {
        Coach {
            code: "KA".into(),
            class: crate::domain::SeatClass::ShovanChair,
            layout: layout.into(),
            free: seats as usize,
            seats: (1..=seats)
                .map(|n| Seat {
                    seat: format!("KA-{n}"),
                    number: n,
                    free: true,
                    state: None,
                })
                .collect(),
        }
    }

    #[test]
    fn rows_follow_the_coach_layout() {
        let g = Grid::of(&coach("2+2", 10));
        assert_eq!((g.per_row, g.aisle_after, g.rows()), (4, 2, 3));
        assert_eq!(g.position(5), (1, 1));
        let g = Grid::of(&coach("2+1", 9));
        assert_eq!((g.per_row, g.aisle_after, g.rows()), (3, 2, 3));
        let g = Grid::of(&coach("berth", 24));
        assert_eq!((g.per_row, g.rows()), (4, 6));
    }

    #[test]
    fn the_cursor_stays_on_seats() {
        let g = Grid::of(&coach("2+2", 10));
        assert_eq!(g.step(0, Move::Left), 0);
        assert_eq!(g.step(0, Move::Up), 0);
        assert_eq!(g.step(1, Move::Down), 5);
        assert_eq!(g.step(5, Move::Down), 9);
        assert_eq!(
            g.step(9, Move::Down),
            9,
            "no seat below in the short last row"
        );
        assert_eq!(g.step(9, Move::Right), 9);
        assert_eq!(g.step(6, Move::Up), 2);
        assert_eq!(g.index_of_number("7"), Some(6));
        assert_eq!(g.index_of_number("70"), None);
    }
}
