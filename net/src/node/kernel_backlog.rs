//! What the kernel still holds of the bytes a node handed its sockets: unsent
//! (`SIOCOUTQNSD`) and sent but not yet acknowledged (`SIOCOUTQ` less the unsent). The
//! writers' queues alone do not say whether an uplink is busy: each socket may hold
//! `TCP_NOTSENT_LOWAT` unsent and a congestion window in flight, and an origin serving 40
//! peers over 10 Mbit/s had 3 s of its link in its sockets while its writers looked empty.

use std::os::fd::RawFd;

const SIOCOUTQ: libc::c_ulong = 0x5411;
const SIOCOUTQNSD: libc::c_ulong = 0x894B;

/// Bytes the kernel holds for a set of sockets.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KernelBacklog {
    /// Not sent yet.
    pub(crate) unsent: usize,
    /// Sent, not acknowledged: about the link's rate times the round trip while it is busy.
    pub(crate) in_flight: usize,
}

impl KernelBacklog {
    /// What the kernel holds for `socket`. A socket closed meanwhile (its number perhaps
    /// reused) counts what the call finds or nothing: this is a gauge, not an account.
    pub(crate) fn of(socket: RawFd) -> Self {
        let (held, unsent) = (queued(socket, SIOCOUTQ), queued(socket, SIOCOUTQNSD));
        KernelBacklog {
            unsent,
            in_flight: held.saturating_sub(unsent),
        }
    }

    /// Nothing held.
    pub(crate) fn is_empty(&self) -> bool {
        self.unsent == 0 && self.in_flight == 0
    }
}

impl std::ops::AddAssign for KernelBacklog {
    fn add_assign(&mut self, other: Self) {
        self.unsent += other.unsent;
        self.in_flight += other.in_flight;
    }
}

#[expect(unsafe_code, reason = "SIOCOUTQ and SIOCOUTQNSD have no safe binding")]
fn queued(fd: RawFd, request: libc::c_ulong) -> usize {
    let mut bytes: libc::c_int = 0;
    // SAFETY: both requests write one int through the pointer, which points at `bytes`;
    // on a descriptor that is not a TCP socket the call fails and writes nothing.
    let status = unsafe { libc::ioctl(fd, request, &mut bytes) };
    if status < 0 {
        0
    } else {
        usize::try_from(bytes).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    #[test]
    fn bytes_nobody_reads_stay_in_the_kernel() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sender = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_receiver, _) = listener.accept().unwrap();
        assert!(KernelBacklog::of(sender.as_raw_fd()).is_empty());
        sender.set_nonblocking(true).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        let mut written = 0;
        while let Ok(n) = sender.write(&chunk) {
            written += n;
        }
        let backlog = KernelBacklog::of(sender.as_raw_fd());
        assert!(backlog.unsent + backlog.in_flight > 0, "{backlog:?}");
        assert!(backlog.unsent + backlog.in_flight <= written, "{backlog:?}");
        assert!(KernelBacklog::of(-1).is_empty(), "not a socket: nothing");
    }
}
