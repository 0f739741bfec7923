//! Between the engine's plain-data [`PeerAddr`] and `std::net`.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use swarm_engine::node::addr::PeerAddr;

/// A socket address as the engine sees it (IPv4 mapped into IPv6 bytes).
pub fn to_peer_addr(addr: SocketAddr) -> PeerAddr {
    match addr.ip() {
        IpAddr::V4(v4) => PeerAddr::v4(v4.octets(), addr.port()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => PeerAddr::v4(v4.octets(), addr.port()),
            None => PeerAddr {
                ip: v6.octets(),
                port: addr.port(),
            },
        },
    }
}

/// The socket address to dial for an engine address.
pub fn to_socket_addr(addr: PeerAddr) -> SocketAddr {
    match addr.as_v4() {
        Some(octets) => SocketAddr::from((octets, addr.port)),
        None => SocketAddr::new(IpAddr::V6(Ipv6Addr::from(addr.ip)), addr.port),
    }
}
