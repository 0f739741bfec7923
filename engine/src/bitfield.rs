//! Which pieces a node has: a fixed-size bit set over piece indexes.
//!
//! The bytes are kept in BEP 3 wire order (the high bit of byte 0 is piece 0), so sending
//! our bitfield is a copy and receiving a peer's is a check. Invariants, asserted by the
//! tests below:
//! - `bytes.len() == len.div_ceil(8)`;
//! - the spare bits after piece `len - 1` in the last byte are always zero;
//! - `ones` is the number of set bits, kept up to date by every mutation, so
//!   [`Bitfield::count_ones`] and [`Bitfield::is_full`] are O(1).
//!
//! Indexes are plain `u32` piece numbers (what [`crate::piece::PieceIndex::get`] returns);
//! an index at or past [`Bitfield::len`] is a caller bug and panics, like a slice index.
//! Indexes from the network are validated first (see `crate::wire::validate`).

use std::fmt;

/// Why a peer's bitfield bytes were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BitfieldError {
    /// The byte count does not match the torrent's piece count.
    #[error("bitfield is {len_bytes} bytes long; {piece_count} pieces need {expected_bytes}")]
    WrongLength {
        len_bytes: usize,
        expected_bytes: usize,
        piece_count: u32,
    },
    /// Bits past the last piece are set.
    #[error("bitfield has spare bits set after piece {piece_count}: last byte {last_byte:#04x}")]
    SpareBitsSet { piece_count: u32, last_byte: u8 },
}

/// A set of piece indexes `0..len`, in wire order, with a running count of its members.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Bitfield {
    bytes: Vec<u8>,
    len: u32,
    ones: u32,
}

impl fmt::Debug for Bitfield {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bitfield({}/{} ", self.ones, self.len)?;
        for i in 0..self.len.min(64) {
            f.write_str(if self.get(i) { "1" } else { "0" })?;
        }
        if self.len > 64 {
            f.write_str("…")?;
        }
        f.write_str(")")
    }
}

/// Bytes needed on the wire for `piece_count` pieces.
pub fn wire_len(piece_count: u32) -> usize {
    (piece_count as usize).div_ceil(8)
}

/// Mask of the bits of the last byte that stand for real pieces.
fn last_byte_mask(len: u32) -> u8 {
    match len % 8 {
        0 => 0xff,
        used => 0xff << (8 - used),
    }
}

impl Bitfield {
    /// No piece of `len`.
    pub fn new(len: u32) -> Self {
        Bitfield {
            bytes: vec![0; wire_len(len)],
            len,
            ones: 0,
        }
    }

    /// Every piece of `len` (a seed).
    pub fn full(len: u32) -> Self {
        let mut bytes = vec![0xff; wire_len(len)];
        if let Some(last) = bytes.last_mut() {
            *last = last_byte_mask(len);
        }
        Bitfield {
            bytes,
            len,
            ones: len,
        }
    }

    /// Checks a peer's bitfield message payload: exactly `wire_len(piece_count)` bytes and
    /// no spare bit set.
    pub fn from_wire(bytes: &[u8], piece_count: u32) -> Result<Self, BitfieldError> {
        let expected_bytes = wire_len(piece_count);
        if bytes.len() != expected_bytes {
            return Err(BitfieldError::WrongLength {
                len_bytes: bytes.len(),
                expected_bytes,
                piece_count,
            });
        }
        if let Some(&last_byte) = bytes.last() {
            if last_byte & !last_byte_mask(piece_count) != 0 {
                return Err(BitfieldError::SpareBitsSet {
                    piece_count,
                    last_byte,
                });
            }
        }
        let ones = bytes.iter().map(|b| b.count_ones()).sum();
        Ok(Bitfield {
            bytes: bytes.to_vec(),
            len: piece_count,
            ones,
        })
    }

    /// The wire payload of a bitfield message (a copy of [`Bitfield::as_bytes`]).
    pub fn to_wire(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The bytes in wire order, spare bits zero.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of pieces the set ranges over.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the set ranges over no piece at all (`len() == 0`); see
    /// [`Bitfield::is_clear`] for "has no piece".
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of pieces present. O(1).
    pub fn count_ones(&self) -> u32 {
        self.ones
    }

    /// Number of pieces missing. O(1).
    pub fn count_zeros(&self) -> u32 {
        self.len - self.ones
    }

    /// Every piece is present (true for `len() == 0`). O(1).
    pub fn is_full(&self) -> bool {
        self.ones == self.len
    }

    /// No piece is present. O(1).
    pub fn is_clear(&self) -> bool {
        self.ones == 0
    }

    fn locate(&self, index: u32) -> (usize, u8) {
        assert!(
            index < self.len,
            "piece {index} out of range for a bitfield of {}",
            self.len
        );
        ((index / 8) as usize, 0x80 >> (index % 8))
    }

    /// Whether piece `index` is present. Panics if `index >= len()`.
    pub fn get(&self, index: u32) -> bool {
        let (byte, mask) = self.locate(index);
        self.bytes[byte] & mask != 0
    }

    /// Marks piece `index` present; returns whether it was missing. Panics if `index >= len()`.
    pub fn set(&mut self, index: u32) -> bool {
        let (byte, mask) = self.locate(index);
        let was_missing = self.bytes[byte] & mask == 0;
        self.bytes[byte] |= mask;
        self.ones += u32::from(was_missing);
        was_missing
    }

    /// Marks piece `index` missing; returns whether it was present. Panics if `index >= len()`.
    pub fn clear(&mut self, index: u32) -> bool {
        let (byte, mask) = self.locate(index);
        let was_present = self.bytes[byte] & mask != 0;
        self.bytes[byte] &= !mask;
        self.ones -= u32::from(was_present);
        was_present
    }

    /// Present pieces in increasing order; skips whole empty bytes.
    pub fn ones(&self) -> impl Iterator<Item = u32> + '_ {
        bits_of(&self.bytes, |b| b)
    }

    /// Missing pieces in increasing order; skips whole full bytes.
    pub fn zeros(&self) -> impl Iterator<Item = u32> + '_ {
        let len = self.len;
        bits_of(&self.bytes, |b| !b).take_while(move |&i| i < len)
    }

    fn assert_same_len(&self, other: &Bitfield) {
        assert_eq!(
            self.len, other.len,
            "bitfields of different torrents compared ({} and {} pieces)",
            self.len, other.len
        );
    }

    /// Whether `self` has a piece that `other` lacks ("this peer has something we need"
    /// is `peer.has_any_not_in(&ours)`). Panics if the lengths differ.
    pub fn has_any_not_in(&self, other: &Bitfield) -> bool {
        self.assert_same_len(other);
        self.bytes
            .iter()
            .zip(&other.bytes)
            .any(|(mine, theirs)| mine & !theirs != 0)
    }

    /// Pieces `self` has and `other` lacks, in increasing order. Panics if the lengths differ.
    pub fn not_in<'a>(&'a self, other: &'a Bitfield) -> impl Iterator<Item = u32> + 'a {
        self.assert_same_len(other);
        self.bytes
            .iter()
            .zip(&other.bytes)
            .enumerate()
            .filter(|(_, (mine, theirs))| *mine & !*theirs != 0)
            .flat_map(|(i, (mine, theirs))| byte_bits(i, mine & !theirs))
    }

    /// Number of pieces `self` has and `other` lacks. Panics if the lengths differ.
    pub fn count_not_in(&self, other: &Bitfield) -> u32 {
        self.assert_same_len(other);
        self.bytes
            .iter()
            .zip(&other.bytes)
            .map(|(mine, theirs)| (mine & !theirs).count_ones())
            .sum()
    }
}

/// Indexes of the set bits of `f(byte)` over all bytes, skipping zero bytes.
fn bits_of<'a>(bytes: &'a [u8], f: impl Fn(u8) -> u8 + 'a) -> impl Iterator<Item = u32> + 'a {
    bytes
        .iter()
        .enumerate()
        .map(move |(i, &b)| (i, f(b)))
        .filter(|&(_, b)| b != 0)
        .flat_map(|(i, b)| byte_bits(i, b))
}

/// Piece indexes of the set bits of one byte at position `byte_index`, high bit first.
fn byte_bits(byte_index: usize, byte: u8) -> impl Iterator<Item = u32> {
    let base = byte_index as u32 * 8;
    (0..8u32)
        .filter(move |bit| byte & (0x80 >> bit) != 0)
        .map(move |bit| base + bit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_invariants(field: &Bitfield) {
        assert_eq!(field.bytes.len(), wire_len(field.len));
        if let Some(&last) = field.bytes.last() {
            assert_eq!(last & !last_byte_mask(field.len), 0, "spare bits set");
        }
        let counted: u32 = field.bytes.iter().map(|b| b.count_ones()).sum();
        assert_eq!(field.ones, counted);
    }

    #[test]
    fn wire_order_is_high_bit_first() {
        let mut field = Bitfield::new(10);
        field.set(0);
        field.set(9);
        assert_eq!(field.to_wire(), vec![0b1000_0000, 0b0100_0000]);
        assert_eq!(field.ones().collect::<Vec<_>>(), vec![0, 9]);
        assert_eq!(field.count_ones(), 2);
        check_invariants(&field);
    }

    #[test]
    fn full_leaves_spare_bits_clear() {
        let field = Bitfield::full(10);
        assert_eq!(field.as_bytes(), &[0xff, 0b1100_0000]);
        assert!(field.is_full());
        assert_eq!(field.zeros().count(), 0);
        check_invariants(&field);
        assert!(Bitfield::full(0).is_full() && Bitfield::full(0).is_empty());
        assert_eq!(Bitfield::full(16).as_bytes(), &[0xff, 0xff]);
    }

    #[test]
    fn set_and_clear_report_changes_and_keep_count() {
        let mut field = Bitfield::new(9);
        assert!(field.set(8));
        assert!(!field.set(8));
        assert_eq!(field.count_ones(), 1);
        assert!(field.clear(8));
        assert!(!field.clear(8));
        assert!(field.is_clear());
        check_invariants(&field);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn index_past_len_panics() {
        Bitfield::new(9).get(9);
    }

    #[test]
    fn from_wire_rejects_wrong_length_with_figures() {
        assert_eq!(
            Bitfield::from_wire(&[0, 0], 17).unwrap_err(),
            BitfieldError::WrongLength {
                len_bytes: 2,
                expected_bytes: 3,
                piece_count: 17
            }
        );
        assert!(Bitfield::from_wire(&[], 0).unwrap().is_empty());
        assert!(Bitfield::from_wire(&[0], 0).is_err());
    }

    #[test]
    fn from_wire_rejects_spare_bits() {
        assert_eq!(
            Bitfield::from_wire(&[0xff, 0b1110_0000], 10).unwrap_err(),
            BitfieldError::SpareBitsSet {
                piece_count: 10,
                last_byte: 0b1110_0000
            }
        );
        let field = Bitfield::from_wire(&[0xff, 0b1100_0000], 10).unwrap();
        assert!(field.is_full());
    }

    #[test]
    fn comparison_helpers() {
        let mut peer = Bitfield::new(20);
        let mut ours = Bitfield::new(20);
        assert!(!peer.has_any_not_in(&ours));
        peer.set(3);
        peer.set(17);
        ours.set(3);
        assert!(peer.has_any_not_in(&ours));
        assert!(!ours.has_any_not_in(&peer));
        assert_eq!(peer.not_in(&ours).collect::<Vec<_>>(), vec![17]);
        assert_eq!(peer.count_not_in(&ours), 1);
    }

    fn arb_bitfield() -> impl Strategy<Value = (u32, Vec<bool>)> {
        (0u32..200).prop_flat_map(|len| {
            (
                Just(len),
                proptest::collection::vec(any::<bool>(), len as usize),
            )
        })
    }

    fn build(len: u32, bits: &[bool]) -> Bitfield {
        let mut field = Bitfield::new(len);
        for (i, &bit) in bits.iter().enumerate() {
            if bit {
                field.set(i as u32);
            }
        }
        field
    }

    proptest! {
        #[test]
        fn matches_a_vec_of_bools((len, bits) in arb_bitfield()) {
            let field = build(len, &bits);
            check_invariants(&field);
            for (i, &bit) in bits.iter().enumerate() {
                prop_assert_eq!(field.get(i as u32), bit);
            }
            let ones: Vec<u32> = (0..len).filter(|&i| bits[i as usize]).collect();
            let zeros: Vec<u32> = (0..len).filter(|&i| !bits[i as usize]).collect();
            prop_assert_eq!(field.ones().collect::<Vec<_>>(), ones.clone());
            prop_assert_eq!(field.zeros().collect::<Vec<_>>(), zeros);
            prop_assert_eq!(field.count_ones() as usize, ones.len());
            prop_assert_eq!(field.is_full(), ones.len() == len as usize);
        }

        #[test]
        fn wire_round_trip((len, bits) in arb_bitfield()) {
            let field = build(len, &bits);
            let back = Bitfield::from_wire(&field.to_wire(), len).unwrap();
            prop_assert_eq!(&back, &field);
            check_invariants(&back);
        }

        #[test]
        fn from_wire_accepts_exactly_clean_payloads(len in 0u32..100, bytes in proptest::collection::vec(any::<u8>(), 0..14)) {
            let clean = bytes.len() == wire_len(len)
                && bytes.last().is_none_or(|&b| b & !last_byte_mask(len) == 0);
            match Bitfield::from_wire(&bytes, len) {
                Ok(field) => {
                    prop_assert!(clean);
                    check_invariants(&field);
                    prop_assert_eq!(field.as_bytes(), &bytes[..]);
                }
                Err(_) => prop_assert!(!clean),
            }
        }

        #[test]
        fn difference_matches_sets((len, a) in arb_bitfield(), seed in any::<u64>()) {
            let b: Vec<bool> = (0..len).map(|i| (seed >> (i % 64)) & 1 == 1).collect();
            let (fa, fb) = (build(len, &a), build(len, &b));
            let expected: Vec<u32> = (0..len).filter(|&i| a[i as usize] && !b[i as usize]).collect();
            prop_assert_eq!(fa.not_in(&fb).collect::<Vec<_>>(), expected.clone());
            prop_assert_eq!(fa.count_not_in(&fb) as usize, expected.len());
            prop_assert_eq!(fa.has_any_not_in(&fb), !expected.is_empty());
        }
    }
}
