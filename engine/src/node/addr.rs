//! Peer addresses as plain data (the engine never touches `std::net`).

use std::fmt;

/// An IP address (IPv4 stored IPv4-mapped in 16 bytes) and a port.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerAddr {
    /// IPv6 bytes; IPv4 as `::ffff:a.b.c.d`.
    pub ip: [u8; 16],
    /// TCP port.
    pub port: u16,
}

impl PeerAddr {
    /// An IPv4 address.
    pub fn v4(octets: [u8; 4], port: u16) -> Self {
        let mut ip = [0u8; 16];
        ip[10] = 0xff;
        ip[11] = 0xff;
        ip[12..].copy_from_slice(&octets);
        PeerAddr { ip, port }
    }

    /// The IPv4 octets, if this is an IPv4 address.
    pub fn as_v4(&self) -> Option<[u8; 4]> {
        (self.ip[..10] == [0; 10] && self.ip[10..12] == [0xff, 0xff])
            .then(|| [self.ip[12], self.ip[13], self.ip[14], self.ip[15]])
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_v4() {
            Some([a, b, c, d]) => write!(f, "{a}.{b}.{c}.{d}:{}", self.port),
            None => {
                let groups: Vec<String> = self
                    .ip
                    .chunks(2)
                    .map(|g| format!("{:x}", u16::from_be_bytes([g[0], g[1]])))
                    .collect();
                write!(f, "[{}]:{}", groups.join(":"), self.port)
            }
        }
    }
}

impl fmt::Debug for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerAddr({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_round_trips_and_displays() {
        let addr = PeerAddr::v4([10, 0, 0, 7], 6881);
        assert_eq!(addr.as_v4(), Some([10, 0, 0, 7]));
        assert_eq!(addr.to_string(), "10.0.0.7:6881");
        let v6 = PeerAddr {
            ip: [0; 16],
            port: 1,
        };
        assert_eq!(v6.as_v4(), None);
        assert_eq!(v6.to_string(), "[0:0:0:0:0:0:0:0]:1");
    }
}
