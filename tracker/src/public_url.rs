//! The default public URL when none is configured: the listen address, or — when it is a
//! wildcard (`0.0.0.0`, `[::]`) that other hosts cannot use — the address of the interface
//! that routes to the private network, else the host name, else loopback.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

/// `http://host:port` for a bound address.
pub(crate) fn derive(local_addr: SocketAddr) -> String {
    let port = local_addr.port();
    let ip = local_addr.ip();
    if !ip.is_unspecified() {
        return format!("http://{}", SocketAddr::new(ip, port));
    }
    if let Some(ip) = routed_ip() {
        return format!("http://{}", SocketAddr::new(ip, port));
    }
    if let Some(name) = host_name() {
        return format!("http://{name}:{port}");
    }
    format!(
        "http://{}",
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    )
}

/// The source address the kernel would pick for a private-network destination (a UDP
/// "connect" sends nothing).
fn routed_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    for target in ["10.255.255.255:9", "192.168.255.255:9", "172.31.255.255:9"] {
        if socket.connect(target).is_ok() {
            if let Ok(addr) = socket.local_addr() {
                if !addr.ip().is_unspecified() && !addr.ip().is_loopback() {
                    return Some(addr.ip());
                }
            }
        }
    }
    None
}

fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn concrete_addresses_are_used_as_they_are() {
        assert_eq!(
            derive("127.0.0.1:6969".parse().unwrap()),
            "http://127.0.0.1:6969"
        );
        assert_eq!(derive("[::1]:80".parse().unwrap()), "http://[::1]:80");
        assert!(derive("0.0.0.0:6969".parse().unwrap()).ends_with(":6969"));
    }
}
