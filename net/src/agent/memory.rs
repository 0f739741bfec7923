//! Giving what a transfer freed back to the system once it is over.
//!
//! Each release's node runs on a thread of its own, and glibc's allocator gives each thread
//! an arena of its own (up to eight per core). A download passes its blocks through that
//! arena: socket read buffers, blocks on their way to disk. When it ends they are freed, but
//! a few small allocations made during it stay alive above them (a disk lane's queue, the
//! torrent's bookkeeping, a log line's buffer), and glibc shrinks an arena only from its
//! top, so the freed pages below stay resident. Measured with heaptrack on an agent
//! holding five releases of 1 GiB: each node's arena kept 6 to 7.5 MiB resident for 40 to
//! 80 KiB of live allocations, and the agent grew by 3 to 5 MiB for each release it held,
//! whatever the piece count. It was no state kept per piece or per block.
//!
//! So once the agent has seen its releases move and then stay still for [`QUIET_REPORTS`]
//! reports in a row, it asks glibc for every free page back ([`give_back`]:
//! `malloc_trim(0)`, which also returns free pages inside an arena), once per burst.

use std::time::Instant;

/// Reports in a row without any change that end a burst of activity: by then the peers
/// of a finished transfer have closed their connections and their buffers are free.
pub const QUIET_REPORTS: u32 = 5;

/// Tells when a burst of activity has ended, from a counter of activity taken at every
/// report (any change means activity).
#[derive(Debug, Default)]
pub struct Quiet {
    /// The counter at the previous report.
    last: Option<u64>,
    /// Something changed since the last time [`Quiet::settled`] said so.
    moved: bool,
    /// Reports in a row without a change.
    still: u32,
}

impl Quiet {
    /// Takes the counter at a report; true once per burst, at the [`QUIET_REPORTS`]th
    /// report in a row without a change after one with a change.
    pub fn settled(&mut self, activity: u64) -> bool {
        let changed = self.last.replace(activity).is_some_and(|l| l != activity);
        if changed {
            self.moved = true;
            self.still = 0;
            return false;
        }
        self.still = self.still.saturating_add(1);
        if self.moved && self.still >= QUIET_REPORTS {
            self.moved = false;
            return true;
        }
        false
    }
}

/// Asks the allocator to return the memory it holds free to the system, and logs what that
/// took. Only glibc needs asking: elsewhere it does nothing and returns false.
pub fn give_back() -> bool {
    let started = Instant::now();
    let released = trim();
    tracing::debug!(
        released,
        took_us = started.elapsed().as_micros() as u64,
        "gave freed memory back to the system"
    );
    released
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "glibc's malloc_trim has no safe binding")]
fn trim() -> bool {
    // SAFETY: malloc_trim takes no pointer and changes only the allocator's own free lists,
    // each arena under its lock; live allocations are not touched.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reports at which `settled` said yes, for a counter per report.
    fn settled_at(counters: &[u64]) -> Vec<usize> {
        let mut quiet = Quiet::default();
        let mut at = Vec::new();
        for (i, &counter) in counters.iter().enumerate() {
            if quiet.settled(counter) {
                at.push(i);
            }
        }
        at
    }

    #[test]
    fn an_agent_that_never_moved_never_trims() {
        assert_eq!(settled_at(&[7; 20]), Vec::<usize>::new());
    }

    #[test]
    fn a_burst_trims_once_after_the_quiet_reports() {
        // Moves at reports 1 and 2, then stays still.
        let q = QUIET_REPORTS as usize;
        let counters = [0, 5, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9];
        assert_eq!(settled_at(&counters), vec![2 + q]);
    }

    #[test]
    fn activity_before_the_quiet_ends_puts_the_trim_off() {
        let q = QUIET_REPORTS as usize;
        let mut counters = vec![0, 1];
        counters.extend(std::iter::repeat_n(1, q - 1));
        counters.push(2); // moves again one report too early
        counters.extend(std::iter::repeat_n(2, q + 3));
        assert_eq!(settled_at(&counters), vec![q + 1 + q]);
    }

    #[test]
    fn each_burst_trims_once() {
        let q = QUIET_REPORTS as usize;
        let mut counters = vec![0, 1];
        counters.extend(std::iter::repeat_n(1, q + 2));
        counters.push(3); // a counter that goes down is activity too (a release removed)
        counters.push(1);
        counters.extend(std::iter::repeat_n(1, q + 2));
        let second = q + 5 + q;
        assert_eq!(settled_at(&counters), vec![1 + q, second]);
    }

    #[test]
    fn giving_back_is_harmless_to_live_memory() {
        let kept: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 100_000]).collect();
        drop((0..64).map(|_| vec![0u8; 300_000]).collect::<Vec<_>>());
        give_back();
        for (i, v) in kept.iter().enumerate() {
            assert!(v.iter().all(|&b| usize::from(b) == i));
        }
    }
}
