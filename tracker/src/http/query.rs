//! Raw query-string parsing: `info_hash` and `peer_id` are percent-encoded *bytes*, not
//! UTF-8 text, so the query is split and decoded here rather than by axum's `Query`.
//!
//! Rules: pairs split on `&`, key and value on the first `=`; `%XX` decodes to one byte;
//! `+` decodes to a space (form encoding; real clients percent-encode `+` and space both);
//! a `%` not followed by two hex digits is malformed. Keys may repeat (scrape's
//! `info_hash`), so pairs stay a list in query order.

/// Longest query accepted, bytes.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// Why a query (or one of its parameters) was rejected; the text goes back to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Longer than [`MAX_QUERY_BYTES`].
    #[error("query too long: {len} bytes, at most {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A `%` escape that is not two hex digits.
    #[error("malformed percent-encoding in `{key}`")]
    BadEscape {
        /// The key (or `query` when the key itself is bad).
        key: String,
    },
    /// A required parameter is absent.
    #[error("missing `{0}`")]
    Missing(&'static str),
    /// A fixed-length binary parameter has the wrong length.
    #[error("`{key}` must be {expected} bytes, got {len}")]
    BadLength {
        /// The parameter.
        key: &'static str,
        /// Its decoded length.
        len: usize,
        /// The required length.
        expected: usize,
    },
    /// A number that does not parse.
    #[error("`{key}` is not a non-negative integer")]
    BadNumber {
        /// The parameter.
        key: &'static str,
    },
    /// A port outside 1..=65535.
    #[error("invalid port")]
    BadPort,
    /// An `event` we do not know.
    #[error("unknown event {0:?}")]
    UnknownEvent(String),
    /// An `ip` parameter that is not an IP address.
    #[error("invalid ip")]
    BadIp,
    /// Too many `info_hash` values in one scrape.
    #[error("too many info_hash values: at most {max}")]
    TooManyHashes {
        /// The limit.
        max: usize,
    },
}

/// A decoded query: `(key, value)` byte strings in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairs(Vec<(Vec<u8>, Vec<u8>)>);

impl Pairs {
    /// Splits and decodes a raw query (without the leading `?`).
    pub fn parse(query: &str) -> Result<Self, QueryError> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(QueryError::TooLong {
                len: query.len(),
                max: MAX_QUERY_BYTES,
            });
        }
        let mut pairs = Vec::new();
        for part in query.as_bytes().split(|&b| b == b'&') {
            if part.is_empty() {
                continue;
            }
            let (raw_key, raw_value) = match part.iter().position(|&b| b == b'=') {
                Some(eq) => (&part[..eq], &part[eq + 1..]),
                None => (part, &b""[..]),
            };
            let key = decode(raw_key).ok_or_else(|| QueryError::BadEscape {
                key: "query".into(),
            })?;
            let value = decode(raw_value).ok_or_else(|| QueryError::BadEscape {
                key: String::from_utf8_lossy(&key).chars().take(32).collect(),
            })?;
            pairs.push((key, value));
        }
        Ok(Pairs(pairs))
    }

    /// The first value of `key`.
    pub fn first<'a>(&'a self, key: &'a str) -> Option<&'a [u8]> {
        self.all(key).next()
    }

    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    /// A required fixed-length binary value (`info_hash`, `peer_id`).
    pub fn fixed20(&self, key: &'static str) -> Result<[u8; 20], QueryError> {
        let value = self.first(key).ok_or(QueryError::Missing(key))?;
        to_fixed20(key, value)
    }

    /// An optional non-negative integer; values past `u64::MAX` saturate.
    pub fn number(&self, key: &'static str) -> Result<Option<u64>, QueryError> {
        self.first(key)
            .map(|value| parse_number(key, value))
            .transpose()
    }
}

/// Checks that a decoded value is exactly 20 bytes.
pub fn to_fixed20(key: &'static str, value: &[u8]) -> Result<[u8; 20], QueryError> {
    value.try_into().map_err(|_| QueryError::BadLength {
        key,
        len: value.len(),
        expected: 20,
    })
}

/// A run of ASCII digits as a saturating `u64`.
fn parse_number(key: &'static str, value: &[u8]) -> Result<u64, QueryError> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(QueryError::BadNumber { key });
    }
    Ok(value.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// Percent-decodes one component; `None` on a bad escape.
fn decode(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'%' => {
                let hi = hex_digit(*raw.get(i + 1)?)?;
                let lo = hex_digit(*raw.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Some(out)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_binary_values_and_repeated_keys() {
        let pairs = Pairs::parse("info_hash=%00%FFa%2b&x&info_hash=b+c&&port=6881").unwrap();
        let hashes: Vec<&[u8]> = pairs.all("info_hash").collect();
        assert_eq!(hashes, vec![&b"\x00\xffa+"[..], b"b c"]);
        assert_eq!(pairs.first("x"), Some(&b""[..]));
        assert_eq!(pairs.number("port").unwrap(), Some(6881));
    }

    #[test]
    fn rejects_bad_escapes_and_numbers() {
        for query in ["a=%zz", "a=%4", "a=%", "%g0=1"] {
            assert!(
                matches!(Pairs::parse(query), Err(QueryError::BadEscape { .. })),
                "{query}"
            );
        }
        let pairs = Pairs::parse("n=-1&m=&big=99999999999999999999999").unwrap();
        assert_eq!(pairs.number("n"), Err(QueryError::BadNumber { key: "n" }));
        assert_eq!(pairs.number("m"), Err(QueryError::BadNumber { key: "m" }));
        assert_eq!(pairs.number("big"), Ok(Some(u64::MAX)));
        assert_eq!(pairs.number("absent"), Ok(None));
    }

    #[test]
    fn fixed_values_need_twenty_bytes() {
        let pairs = Pairs::parse("info_hash=abc").unwrap();
        assert_eq!(
            pairs.fixed20("info_hash"),
            Err(QueryError::BadLength {
                key: "info_hash",
                len: 3,
                expected: 20
            })
        );
        assert_eq!(
            pairs.fixed20("peer_id"),
            Err(QueryError::Missing("peer_id"))
        );
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip_through_percent_encoding(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let encoded: String = bytes.iter().map(|b| format!("%{b:02x}")).collect();
            let pairs = Pairs::parse(&format!("k={encoded}")).unwrap();
            prop_assert_eq!(pairs.first("k"), Some(bytes.as_slice()));
        }

        #[test]
        fn never_panics(query in "\\PC{0,200}") {
            let _ = Pairs::parse(&query);
        }
    }
}
