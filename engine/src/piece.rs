//! Piece and block geometry, and the validated index types built on it.
//!
//! A [`PieceIndex`] can only be made by [`Geometry::piece`], so code that holds one knows it
//! is in range; a [`BlockRef`] likewise only comes from [`Geometry::block`] or from the
//! geometry's own iteration. Blocks are 16 KiB except the last block of the last piece.

use serde::Serialize;

/// The block size every request uses (BEP 3 practice; the largest size peers must serve).
pub const BLOCK_LENGTH: u32 = 16 * 1024;

/// Sizes of the content: total length, piece length and the derived counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Geometry {
    total_length: u64,
    piece_length: u32,
    piece_count: u32,
}

/// A piece index proven to be in range for its geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PieceIndex(u32);

impl PieceIndex {
    /// The index as a plain number (for the wire and for arrays).
    pub fn get(self) -> u32 {
        self.0
    }

    /// The index as an array position.
    pub fn as_usize(self) -> usize {
        self.0 as usize
    }
}

/// One block of one piece: `(piece, offset, length)`, proven in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockRef {
    /// The piece.
    pub piece: PieceIndex,
    /// Byte offset within the piece, a multiple of [`BLOCK_LENGTH`].
    pub offset: u32,
    /// Length in bytes, [`BLOCK_LENGTH`] except at the very end of the content.
    pub length: u32,
}

impl BlockRef {
    /// The block's position among the piece's blocks.
    pub fn block_index(&self) -> u32 {
        self.offset / BLOCK_LENGTH
    }
}

impl Geometry {
    /// Geometry for `total_length` bytes in pieces of `piece_length` (a multiple of the
    /// block length). `None` when the piece count would not fit a `u32`.
    pub fn new(total_length: u64, piece_length: u32) -> Option<Self> {
        if piece_length == 0 || !piece_length.is_multiple_of(BLOCK_LENGTH) {
            return None;
        }
        let piece_count = u32::try_from(total_length.div_ceil(u64::from(piece_length))).ok()?;
        Some(Geometry {
            total_length,
            piece_length,
            piece_count,
        })
    }

    /// Content length in bytes.
    pub fn total_length(&self) -> u64 {
        self.total_length
    }

    /// Nominal piece length in bytes.
    pub fn piece_length(&self) -> u32 {
        self.piece_length
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// Validates a piece index.
    pub fn piece(&self, index: u32) -> Option<PieceIndex> {
        (index < self.piece_count).then_some(PieceIndex(index))
    }

    /// Every piece index in order.
    pub fn pieces(&self) -> impl Iterator<Item = PieceIndex> {
        (0..self.piece_count).map(PieceIndex)
    }

    /// Byte offset of a piece in the content.
    pub fn piece_offset(&self, piece: PieceIndex) -> u64 {
        u64::from(piece.0) * u64::from(self.piece_length)
    }

    /// Length of a piece: the nominal length except for a shorter last piece.
    pub fn piece_size(&self, piece: PieceIndex) -> u32 {
        let rest = self.total_length - self.piece_offset(piece);
        rest.min(u64::from(self.piece_length)) as u32
    }

    /// Number of blocks in a piece.
    pub fn blocks_in_piece(&self, piece: PieceIndex) -> u32 {
        self.piece_size(piece).div_ceil(BLOCK_LENGTH)
    }

    /// The `n`th block of a piece, if it exists.
    pub fn block(&self, piece: PieceIndex, block_index: u32) -> Option<BlockRef> {
        let size = self.piece_size(piece);
        let offset = block_index.checked_mul(BLOCK_LENGTH)?;
        (offset < size).then(|| BlockRef {
            piece,
            offset,
            length: (size - offset).min(BLOCK_LENGTH),
        })
    }

    /// Validates a request or piece message: in range, not crossing the piece's end,
    /// and no longer than `max_length`.
    pub fn checked_span(
        &self,
        index: u32,
        offset: u32,
        length: u32,
        max_length: u32,
    ) -> Option<BlockRef> {
        let piece = self.piece(index)?;
        let end = offset.checked_add(length)?;
        (length > 0 && length <= max_length && end <= self.piece_size(piece)).then_some(BlockRef {
            piece,
            offset,
            length,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_piece_and_block_are_short() {
        let geometry = Geometry::new(100_000, 32_768).unwrap();
        assert_eq!(geometry.piece_count(), 4);
        let last = geometry.piece(3).unwrap();
        assert_eq!(geometry.piece_size(last), 100_000 - 3 * 32_768);
        assert_eq!(geometry.blocks_in_piece(last), 1);
        assert_eq!(geometry.block(last, 0).unwrap().length, 1696);
        assert!(geometry.block(last, 1).is_none());
        assert!(geometry.piece(4).is_none());
    }

    #[test]
    fn spans_are_checked() {
        let geometry = Geometry::new(100_000, 32_768).unwrap();
        assert!(geometry
            .checked_span(0, 16_384, 16_384, BLOCK_LENGTH)
            .is_some());
        assert!(geometry
            .checked_span(0, 16_385, 16_384, BLOCK_LENGTH)
            .is_none());
        assert!(geometry.checked_span(0, 0, 32_768, BLOCK_LENGTH).is_none());
        assert!(geometry.checked_span(0, 0, 0, BLOCK_LENGTH).is_none());
        assert!(geometry.checked_span(9, 0, 1, BLOCK_LENGTH).is_none());
        assert!(geometry
            .checked_span(0, u32::MAX, 2, BLOCK_LENGTH)
            .is_none());
    }

    #[test]
    fn empty_content_has_no_pieces() {
        let geometry = Geometry::new(0, 16_384).unwrap();
        assert_eq!(geometry.piece_count(), 0);
    }
}
