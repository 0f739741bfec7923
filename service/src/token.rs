//! The fleet token shared by the tracker, agents and `swarm publish`: read from a file,
//! sent as `Authorization: Bearer TOKEN`, compared in constant time (SHA-1 of both sides,
//! then every byte of the digests).

use std::path::Path;

use sha1::{Digest, Sha1};

/// Shortest token accepted.
pub const MIN_TOKEN_CHARS: usize = 16;
/// Longest token accepted (the file read is capped at this plus a newline).
pub const MAX_TOKEN_CHARS: usize = 4096;

/// Why a token file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Reading it failed.
    #[error("cannot read token file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Its content is not a token.
    #[error("token file {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// The fleet token (never printed: `Debug` hides it).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// A token from text: surrounding whitespace trimmed, [`MIN_TOKEN_CHARS`] to
    /// [`MAX_TOKEN_CHARS`] visible ASCII characters without `;` or `,` (it goes in a cookie).
    pub fn new(text: &str) -> Result<Self, String> {
        let token = text.trim();
        if token.len() < MIN_TOKEN_CHARS || token.len() > MAX_TOKEN_CHARS {
            return Err(format!(
                "a token has {MIN_TOKEN_CHARS} to {MAX_TOKEN_CHARS} characters, this one {}",
                token.len()
            ));
        }
        if !token
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        {
            return Err("a token is visible ASCII without `;` or `,`".into());
        }
        Ok(Token(token.to_string()))
    }

    /// Reads a token file.
    pub fn from_file(path: &Path) -> Result<Self, TokenError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| TokenError::Read {
            path: shown.clone(),
            source,
        })?;
        let invalid = |reason: String| TokenError::Invalid {
            path: shown.clone(),
            reason,
        };
        if bytes.len() > MAX_TOKEN_CHARS + 2 {
            return Err(invalid(format!("longer than {MAX_TOKEN_CHARS} characters")));
        }
        let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8".into()))?;
        Token::new(&text).map_err(invalid)
    }

    /// The token's text, to send.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `offered` is this token, in time independent of where they differ.
    pub fn matches(&self, offered: &str) -> bool {
        let a = Sha1::digest(self.0.as_bytes());
        let b = Sha1::digest(offered.as_bytes());
        a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_themselves() {
        let token = Token::new(" abcdefghijklmnop\n").unwrap();
        assert!(token.matches("abcdefghijklmnop"));
        assert!(!token.matches("abcdefghijklmnoq"));
        assert!(!token.matches(""));
        assert!(!token.matches("abcdefghijklmnopq"));
        assert!(Token::new("short").is_err());
        assert!(Token::new("abcdefghijklmnop;x").is_err());
        assert!(Token::new(&"x".repeat(MAX_TOKEN_CHARS + 1)).is_err());
        assert!(Token::new(&"x".repeat(MAX_TOKEN_CHARS)).is_ok());
        assert_eq!(format!("{token:?}"), "Token(..)");
    }
}
