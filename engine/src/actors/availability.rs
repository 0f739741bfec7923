//! Availability buckets: the pieces still to start, grouped by how many peers have them.
//!
//! Bucket `a` holds the untouched missing pieces that exactly `a` connected peers have, so
//! rarest-first looks at the lowest non-empty bucket instead of scanning every piece. Moves
//! between buckets are O(1) (swap-remove with a position index).

/// Per-piece peer counts and the buckets of pieces that can still be started.
#[derive(Debug, Clone)]
pub(crate) struct Availability {
    count: Vec<u32>,
    buckets: Vec<Vec<u32>>,
    /// Position of a bucketed piece inside its bucket; `NOT_BUCKETED` otherwise.
    position: Vec<u32>,
    /// Pieces in some bucket.
    bucketed: usize,
}

const NOT_BUCKETED: u32 = u32::MAX;

impl Availability {
    /// `pieces` pieces, all with availability zero; `startable(p)` says which are bucketed.
    pub fn new(pieces: u32, startable: impl Fn(u32) -> bool) -> Self {
        let mut availability = Availability {
            count: vec![0; pieces as usize],
            buckets: vec![Vec::new()],
            position: vec![NOT_BUCKETED; pieces as usize],
            bucketed: 0,
        };
        for piece in 0..pieces {
            if startable(piece) {
                availability.insert(piece);
            }
        }
        availability
    }

    /// How many peers have `piece`.
    pub fn count(&self, piece: u32) -> u32 {
        self.count[piece as usize]
    }

    /// Whether `piece` is waiting in a bucket (missing and not started).
    pub fn is_bucketed(&self, piece: u32) -> bool {
        self.position[piece as usize] != NOT_BUCKETED
    }

    /// One more peer has `piece`.
    pub fn increment(&mut self, piece: u32) {
        let bucketed = self.is_bucketed(piece);
        if bucketed {
            self.remove(piece);
        }
        self.count[piece as usize] += 1;
        if bucketed {
            self.insert(piece);
        }
    }

    /// One peer fewer has `piece`.
    pub fn decrement(&mut self, piece: u32) {
        let bucketed = self.is_bucketed(piece);
        if bucketed {
            self.remove(piece);
        }
        let count = &mut self.count[piece as usize];
        *count = count.saturating_sub(1);
        if bucketed {
            self.insert(piece);
        }
    }

    /// Puts `piece` into the bucket of its availability (no-op if there already).
    pub fn insert(&mut self, piece: u32) {
        if self.is_bucketed(piece) {
            return;
        }
        let count = self.count[piece as usize] as usize;
        if self.buckets.len() <= count {
            self.buckets.resize_with(count + 1, Vec::new);
        }
        self.position[piece as usize] = self.buckets[count].len() as u32;
        self.buckets[count].push(piece);
        self.bucketed += 1;
    }

    /// Takes `piece` out of its bucket (no-op if not bucketed).
    pub fn remove(&mut self, piece: u32) {
        let position = self.position[piece as usize];
        if position == NOT_BUCKETED {
            return;
        }
        let bucket = &mut self.buckets[self.count[piece as usize] as usize];
        bucket.swap_remove(position as usize);
        if let Some(&moved) = bucket.get(position as usize) {
            self.position[moved as usize] = position;
        }
        self.position[piece as usize] = NOT_BUCKETED;
        self.bucketed -= 1;
    }

    /// Pieces by increasing availability, starting at a rotating offset inside each bucket
    /// (the random tie-break). Bucket zero (nobody has them) is skipped.
    pub fn rarest_first(&self, tie_break: u64) -> impl Iterator<Item = u32> + '_ {
        self.buckets.iter().skip(1).flat_map(move |bucket| {
            let len = bucket.len();
            let start = if len == 0 {
                0
            } else {
                (tie_break % len as u64) as usize
            };
            (0..len).map(move |i| bucket[(start + i) % len])
        })
    }

    /// Number of bucketed pieces.
    pub fn bucketed_len(&self) -> usize {
        self.bucketed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rarest_pieces_come_first() {
        let mut availability = Availability::new(4, |_| true);
        for _ in 0..3 {
            availability.increment(0);
        }
        availability.increment(1);
        availability.increment(2);
        availability.increment(2);
        let order: Vec<u32> = availability.rarest_first(0).collect();
        assert_eq!(order, vec![1, 2, 0]);
        availability.decrement(0);
        availability.decrement(0);
        let order: Vec<u32> = availability.rarest_first(0).collect();
        assert_eq!(order.len(), 3);
        assert_eq!(order[2], 2);
    }

    #[test]
    fn removed_pieces_are_not_picked_but_keep_counts() {
        let mut availability = Availability::new(3, |p| p != 1);
        availability.increment(0);
        availability.increment(1);
        availability.increment(2);
        availability.remove(0);
        assert_eq!(availability.rarest_first(7).collect::<Vec<_>>(), vec![2]);
        assert_eq!(availability.count(1), 1);
        availability.insert(0);
        assert_eq!(availability.bucketed_len(), 2);
    }
}
