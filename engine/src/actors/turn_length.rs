//! How long a turn lasts, for the rotating choker and the origin's reveals alike: one
//! piece's worth sent, plus one more for every `NodeConfig::turn_waiting_per_piece` peers
//! waiting for a turn when it would end (0: always one). While a served peer holds what many
//! want, it keeps its turn a little longer (the figures are in that setting's doc).

use crate::node::conns::ConnMap;
use crate::node::io::ConnId;

/// Pieces' worth sent to each peer in its current turn.
#[derive(Debug, Default)]
pub(crate) struct TurnLength {
    served: ConnMap<u32>,
}

impl TurnLength {
    /// `conn` was sent one more piece's worth in its turn while `waiting` peers wait; whether
    /// its turn is over (the count then starts again).
    pub fn served(&mut self, conn: ConnId, waiting: usize, waiting_per_piece: usize) -> bool {
        let due = match waiting_per_piece {
            0 => 1,
            n => 1 + waiting / n,
        };
        let served = self.served.get_or_insert_with(conn, || 0);
        *served += 1;
        if (*served as usize) < due {
            return false;
        }
        self.served.remove(&conn);
        true
    }

    /// `conn`'s turn ended, or began, or it left: its count starts again.
    pub fn forget(&mut self, conn: ConnId) {
        self.served.remove(&conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_lasts_one_piece_more_for_every_so_many_waiting() {
        let mut turns = TurnLength::default();
        let conn = ConnId(3);
        assert!(turns.served(conn, 100, 0), "0: always one piece's worth");
        assert!(turns.served(conn, 29, 30), "fewer than 30 wait: one");
        assert!(!turns.served(conn, 60, 30), "60 wait: three");
        assert!(!turns.served(conn, 60, 30));
        assert!(turns.served(conn, 60, 30));
        assert!(!turns.served(conn, 30, 30));
        turns.forget(conn);
        assert!(!turns.served(conn, 30, 30), "forgotten: counts from zero");
        assert!(turns.served(conn, 30, 30));
    }
}
