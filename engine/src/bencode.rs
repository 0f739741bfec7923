//! A small bounded bencode scanner over raw bytes.
//!
//! It owns one job: prove that a byte string is exactly one well-formed bencode value
//! (depth limit, length and integer bounds, no trailing data) and report the byte range of
//! chosen values of the top-level dictionary. The info-hash is the SHA-1 of the exact `info`
//! slice that this scanner returns, never of a re-encoding, so torrents with unknown keys or
//! keys out of canonical order keep their info-hash. Typed decoding is left to serde_bencode,
//! which only ever sees input this scanner accepted.

use std::collections::BTreeSet;
use std::ops::Range;

/// Deepest nesting of lists and dictionaries accepted.
pub const MAX_DEPTH: usize = 64;
/// Largest integer literal accepted, in digits (fits an i64).
const MAX_INT_DIGITS: usize = 19;

/// Why a byte string is not one well-formed bencode value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BencodeError {
    /// The input ended inside a value.
    #[error("bencode ends early at byte {offset}")]
    UnexpectedEnd { offset: usize },
    /// A byte that cannot start or continue a value here.
    #[error("unexpected byte {byte:#04x} at byte {offset}")]
    UnexpectedByte { offset: usize, byte: u8 },
    /// An integer with a leading zero, `-0`, no digits, or too many digits.
    #[error("malformed integer at byte {offset}")]
    BadInteger { offset: usize },
    /// A string whose declared length runs past the end of the input.
    #[error("string at byte {offset} declares {len} bytes but only {available} remain")]
    StringTooLong {
        offset: usize,
        len: usize,
        available: usize,
    },
    /// Lists and dictionaries nested deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {max} at byte {offset}")]
    TooDeep { offset: usize, max: usize },
    /// A dictionary key that is not a byte string.
    #[error("dictionary key at byte {offset} is not a string")]
    NonStringKey { offset: usize },
    /// The same key twice in one dictionary.
    #[error("duplicate dictionary key at byte {offset}")]
    DuplicateKey { offset: usize },
    /// Bytes after the end of the single top-level value.
    #[error("trailing data after the value, at byte {offset}")]
    TrailingData { offset: usize },
    /// The top-level value is not a dictionary.
    #[error("top-level value is not a dictionary")]
    NotADictionary,
}

/// Checks that `input` is exactly one bencode value and returns, for each key asked for,
/// the byte range of its value in the top-level dictionary (`None` when absent).
pub fn top_level_ranges<const N: usize>(
    input: &[u8],
    keys: [&[u8]; N],
) -> Result<[Option<Range<usize>>; N], BencodeError> {
    if input.first() != Some(&b'd') {
        return Err(if input.is_empty() {
            BencodeError::UnexpectedEnd { offset: 0 }
        } else {
            BencodeError::NotADictionary
        });
    }
    let mut found: [Option<Range<usize>>; N] = std::array::from_fn(|_| None);
    let mut scanner = Scanner { input, pos: 1 };
    let mut seen_keys = BTreeSet::new();
    loop {
        match scanner.peek()? {
            b'e' => {
                scanner.pos += 1;
                break;
            }
            _ => {
                let key = &input[scanner.dict_key(&mut seen_keys)?];
                let start = scanner.pos;
                scanner.skip_value(1)?;
                if let Some(slot) = keys.iter().position(|k| *k == key) {
                    found[slot] = Some(start..scanner.pos);
                }
            }
        }
    }
    if scanner.pos != input.len() {
        return Err(BencodeError::TrailingData {
            offset: scanner.pos,
        });
    }
    Ok(found)
}

/// Checks that `input` is exactly one well-formed bencode value of any kind.
pub fn validate(input: &[u8]) -> Result<(), BencodeError> {
    let mut scanner = Scanner { input, pos: 0 };
    scanner.skip_value(0)?;
    if scanner.pos != input.len() {
        return Err(BencodeError::TrailingData {
            offset: scanner.pos,
        });
    }
    Ok(())
}

struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Result<u8, BencodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(BencodeError::UnexpectedEnd { offset: self.pos })
    }

    /// Skips one value starting at `pos`; `depth` counts the containers around it.
    /// Iterative over siblings, recursive only into containers (bounded by `MAX_DEPTH`).
    fn skip_value(&mut self, depth: usize) -> Result<(), BencodeError> {
        match self.peek()? {
            b'i' => self.skip_integer(),
            b'0'..=b'9' => self.skip_string().map(|_| ()),
            b'l' => {
                self.enter(depth)?;
                while self.peek()? != b'e' {
                    self.skip_value(depth + 1)?;
                }
                self.pos += 1;
                Ok(())
            }
            b'd' => {
                self.enter(depth)?;
                let mut seen_keys = BTreeSet::new();
                while self.peek()? != b'e' {
                    self.dict_key(&mut seen_keys)?;
                    self.skip_value(depth + 1)?;
                }
                self.pos += 1;
                Ok(())
            }
            byte => Err(BencodeError::UnexpectedByte {
                offset: self.pos,
                byte,
            }),
        }
    }

    fn enter(&mut self, depth: usize) -> Result<(), BencodeError> {
        if depth >= MAX_DEPTH {
            return Err(BencodeError::TooDeep {
                offset: self.pos,
                max: MAX_DEPTH,
            });
        }
        self.pos += 1;
        Ok(())
    }

    /// Reads a dictionary key and rejects a repeat of any earlier key of the same dictionary.
    /// Unsorted keys are accepted (other tools write them) and keep the raw bytes, hence the
    /// info-hash, intact.
    fn dict_key(&mut self, seen: &mut BTreeSet<&'a [u8]>) -> Result<Range<usize>, BencodeError> {
        let offset = self.pos;
        if !self.peek()?.is_ascii_digit() {
            return Err(BencodeError::NonStringKey { offset });
        }
        let key = self.skip_string()?;
        if !seen.insert(&self.input[key.clone()]) {
            return Err(BencodeError::DuplicateKey { offset });
        }
        Ok(key)
    }

    fn skip_integer(&mut self) -> Result<(), BencodeError> {
        let offset = self.pos;
        self.pos += 1;
        let negative = self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        while self.peek()?.is_ascii_digit() {
            self.pos += 1;
        }
        let digits = &self.input[digits_start..self.pos];
        let malformed = digits.is_empty()
            || digits.len() > MAX_INT_DIGITS
            || (digits[0] == b'0' && (digits.len() > 1 || negative));
        if malformed {
            return Err(BencodeError::BadInteger { offset });
        }
        match self.peek()? {
            b'e' => {
                self.pos += 1;
                Ok(())
            }
            byte => Err(BencodeError::UnexpectedByte {
                offset: self.pos,
                byte,
            }),
        }
    }

    /// Skips `<len>:<bytes>` and returns the range of the bytes.
    fn skip_string(&mut self) -> Result<Range<usize>, BencodeError> {
        let offset = self.pos;
        let mut len: usize = 0;
        let mut digits = 0;
        while self.peek()?.is_ascii_digit() {
            len = len
                .checked_mul(10)
                .and_then(|l| l.checked_add(usize::from(self.input[self.pos] - b'0')))
                .ok_or(BencodeError::BadInteger { offset })?;
            digits += 1;
            self.pos += 1;
        }
        if digits > 1 && self.input[offset] == b'0' {
            return Err(BencodeError::BadInteger { offset });
        }
        match self.peek()? {
            b':' => self.pos += 1,
            byte => {
                return Err(BencodeError::UnexpectedByte {
                    offset: self.pos,
                    byte,
                })
            }
        }
        let available = self.input.len() - self.pos;
        if len > available {
            return Err(BencodeError::StringTooLong {
                offset,
                len,
                available,
            });
        }
        let start = self.pos;
        self.pos += len;
        Ok(start..self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_info_range_with_unknown_and_unsorted_keys() {
        let input = b"d4:infod4:name1:ae3:zzzi1e8:announce3:urle";
        let [info, announce] = top_level_ranges(input, [b"info", b"announce"]).unwrap();
        assert_eq!(&input[info.unwrap()], b"d4:name1:ae");
        assert_eq!(&input[announce.unwrap()], b"3:url");
    }

    #[test]
    fn rejects_malformed_input_with_offsets() {
        let cases: &[(&[u8], BencodeError)] = &[
            (b"", BencodeError::UnexpectedEnd { offset: 0 }),
            (b"d4:info", BencodeError::UnexpectedEnd { offset: 7 }),
            (b"di1ei2ee", BencodeError::NonStringKey { offset: 1 }),
            (b"d1:ai01ee", BencodeError::BadInteger { offset: 4 }),
            (b"d1:ai-0ee", BencodeError::BadInteger { offset: 4 }),
            (b"d1:aie", BencodeError::BadInteger { offset: 4 }),
            (
                b"d1:a9:abce",
                BencodeError::StringTooLong {
                    offset: 4,
                    len: 9,
                    available: 4,
                },
            ),
            (b"d1:ai1e1:ai2ee", BencodeError::DuplicateKey { offset: 7 }),
            (
                b"d1:ai1e1:bi1e1:ai2ee",
                BencodeError::DuplicateKey { offset: 13 },
            ),
            (b"de1", BencodeError::TrailingData { offset: 2 }),
            (b"l1:ae", BencodeError::NotADictionary),
            (
                b"d1:ax",
                BencodeError::UnexpectedByte {
                    offset: 4,
                    byte: b'x',
                },
            ),
        ];
        for (input, expected) in cases {
            let got = top_level_ranges(input, [b"info"]).unwrap_err();
            assert_eq!(&got, expected, "input {:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn depth_is_bounded() {
        let mut deep = b"d1:a".to_vec();
        deep.extend(std::iter::repeat_n(b'l', 10_000));
        let err = top_level_ranges(&deep, [b"info"]).unwrap_err();
        assert!(matches!(err, BencodeError::TooDeep { max: MAX_DEPTH, .. }));
    }

    #[test]
    fn huge_declared_lengths_do_not_overflow() {
        let err = validate(b"99999999999999999999999999:a").unwrap_err();
        assert_eq!(err, BencodeError::BadInteger { offset: 0 });
    }
}
