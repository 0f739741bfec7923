//! The BEP 3 vocabulary shared by the engine, its runtimes and the tracker core: the
//! announce event, the peer id and our client's prefix in it.

use std::fmt;

/// Our client's Azureus-style prefix (`-SW` and version 0100) at the start of every peer id.
pub const CLIENT_PREFIX: [u8; 8] = *b"-SW0100-";

/// A client's 20-byte peer id: the peer's identity within one swarm.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub [u8; 20]);

impl PeerId {
    /// One of our ids: [`CLIENT_PREFIX`] and 12 bytes that tell our nodes apart.
    pub fn ours(suffix: [u8; 12]) -> Self {
        let mut id = [0u8; 20];
        id[..8].copy_from_slice(&CLIENT_PREFIX);
        id[8..].copy_from_slice(&suffix);
        PeerId(id)
    }

    /// The id as text: printable ASCII kept, other bytes as `%XX` (client prefixes such as
    /// `-qB4650-` stay readable).
    pub fn display_lossy(&self) -> String {
        let mut text = String::with_capacity(20);
        for &byte in &self.0 {
            if byte.is_ascii_graphic() && byte != b'%' {
                text.push(byte as char);
            } else {
                text.push_str(&format!("%{byte:02X}"));
            }
        }
        text
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.display_lossy())
    }
}

/// BEP 3 announce events (and BEP 21's `paused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnnounceEvent {
    /// A regular update (no `event` parameter on the wire).
    #[default]
    Periodic,
    /// First announce.
    Started,
    /// The download just completed.
    Completed,
    /// Shutting down.
    Stopped,
    /// BEP 21: stopped downloading, still serving what it has.
    Paused,
}

impl AnnounceEvent {
    /// The `event` value on the wire and in metrics labels (`none` for a periodic one).
    pub fn as_str(self) -> &'static str {
        match self {
            AnnounceEvent::Periodic => "none",
            AnnounceEvent::Started => "started",
            AnnounceEvent::Completed => "completed",
            AnnounceEvent::Stopped => "stopped",
            AnnounceEvent::Paused => "paused",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_ids_carry_the_prefix_and_display_readably() {
        let id = PeerId::ours(*b"000000000042");
        assert_eq!(&id.0[..8], b"-SW0100-");
        assert_eq!(id.display_lossy(), "-SW0100-000000000042");
        assert_eq!(PeerId([0; 20]).display_lossy().len(), 60);
    }
}
