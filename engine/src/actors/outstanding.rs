//! The requests one connection has in flight, oldest first.
//!
//! A pipeline holds a handful of blocks and they mostly arrive in the order they were
//! requested, so a ring searched from the front beats a tree map here, and taking the
//! oldest moves nothing (a vector shifted the whole pipeline, cold in cache, for every
//! block); this sits on the path of every block received.

use std::collections::VecDeque;

use crate::piece::BlockRef;
use crate::time::Time;

/// Blocks requested on one connection and not yet received, with when each was requested.
#[derive(Debug, Default)]
pub(crate) struct Outstanding {
    requests: VecDeque<(BlockRef, Time)>,
}

impl Outstanding {
    /// Records a request sent at `at` (a repeated request keeps its first time).
    pub fn insert(&mut self, block: BlockRef, at: Time) {
        if !self.requests.iter().any(|(b, _)| *b == block) {
            self.requests.push_back((block, at));
        }
    }

    /// Forgets `block`; returns when it was requested, if it was.
    pub fn remove(&mut self, block: &BlockRef) -> Option<Time> {
        if self.requests.front().is_some_and(|(b, _)| b == block) {
            return self.requests.pop_front().map(|(_, at)| at); // the usual case
        }
        let position = self.requests.iter().position(|(b, _)| b == block)?;
        self.requests.remove(position).map(|(_, at)| at)
    }

    pub fn len(&self) -> usize {
        self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Empties the set; returns the blocks in request order.
    pub fn take_all(&mut self) -> Vec<BlockRef> {
        std::mem::take(&mut self.requests)
            .into_iter()
            .map(|(block, _)| block)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piece::Geometry;

    fn block(geometry: &Geometry, piece: u32, index: u32) -> BlockRef {
        let piece = geometry.piece(piece).expect("in range");
        geometry.block(piece, index).expect("in range")
    }

    #[test]
    fn keeps_request_order_and_first_request_time() {
        let geometry = Geometry::new(1 << 20, 1 << 18).expect("valid");
        let mut outstanding = Outstanding::default();
        let (a, b, c) = (
            block(&geometry, 0, 0),
            block(&geometry, 0, 1),
            block(&geometry, 1, 0),
        );
        outstanding.insert(c, Time::from_nanos(1));
        outstanding.insert(a, Time::from_nanos(2));
        outstanding.insert(b, Time::from_nanos(3));
        outstanding.insert(a, Time::from_nanos(9));
        assert_eq!(outstanding.len(), 3);
        assert_eq!(outstanding.remove(&a), Some(Time::from_nanos(2)));
        assert_eq!(outstanding.remove(&a), None);
        assert_eq!(outstanding.take_all(), vec![c, b]);
        assert!(outstanding.is_empty());
    }
}
