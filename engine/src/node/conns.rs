//! A map keyed by connection, kept as a sorted vector.
//!
//! The actors look their per-connection state up for nearly every message (every block
//! received or served goes through two or three such lookups), while connections come
//! and go a few times a minute. A binary search over one contiguous vector of keys beats
//! a B-tree's walk for the few dozen connections a node holds; inserting and removing
//! shift the vector, which is cheap at that size. Iteration is in key order, as a
//! `BTreeMap`'s, so the actors' decisions do not change.
//!
//! A lookup first tries the position a small table remembers for the key's low bits (one
//! cache line is read, and it is usually right), and binary-searches only when it is not:
//! with a simulated swarm's state far larger than the caches, each step of a search is a
//! miss.

use crate::node::io::ConnId;

/// Entries of the position table (a power of two), over three times the connections a
/// node keeps by default (`max_connections`, 80), so that few keys share an entry: the
/// simulator numbers connections across the whole swarm, so a node's keys have scattered
/// low bits, and in a table of 64 entries 80 such keys find their own about 57 % of the
/// time (86 % in 256).
const HINTS: usize = 256;
/// A table entry that remembers no position.
const NO_HINT: u16 = u16::MAX;

/// Values keyed by [`ConnId`], iterated in key order.
#[derive(Debug, Clone)]
pub(crate) struct ConnMap<V> {
    keys: Vec<ConnId>,
    values: Vec<V>,
    /// By the key's low bits, the position of a key with those bits (rebuilt on every
    /// insertion and removal, which shift the positions).
    hints: [u16; HINTS],
}

impl<V> Default for ConnMap<V> {
    fn default() -> Self {
        ConnMap {
            keys: Vec::new(),
            values: Vec::new(),
            hints: [NO_HINT; HINTS],
        }
    }
}

fn hint_slot(conn: ConnId) -> usize {
    conn.0 as usize & (HINTS - 1)
}

impl<V> ConnMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Where `conn` is (`Ok`), or where it would go (`Err`).
    fn position(&self, conn: &ConnId) -> Result<usize, usize> {
        let hint = usize::from(self.hints[hint_slot(*conn)]);
        if self.keys.get(hint) == Some(conn) {
            return Ok(hint);
        }
        self.keys.binary_search(conn)
    }

    fn rebuild_hints(&mut self) {
        self.hints = [NO_HINT; HINTS];
        for (at, conn) in self.keys.iter().enumerate() {
            self.hints[hint_slot(*conn)] = u16::try_from(at).unwrap_or(NO_HINT);
        }
    }

    pub fn contains_key(&self, conn: &ConnId) -> bool {
        self.position(conn).is_ok()
    }

    pub fn get(&self, conn: &ConnId) -> Option<&V> {
        let at = self.position(conn).ok()?;
        Some(&self.values[at])
    }

    pub fn get_mut(&mut self, conn: &ConnId) -> Option<&mut V> {
        let at = self.position(conn).ok()?;
        Some(&mut self.values[at])
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, conn: ConnId, value: V) -> Option<V> {
        match self.position(&conn) {
            Ok(at) => Some(std::mem::replace(&mut self.values[at], value)),
            Err(at) => {
                self.keys.insert(at, conn);
                self.values.insert(at, value);
                self.rebuild_hints();
                None
            }
        }
    }

    /// The value of `conn`, inserted with `make` if absent.
    pub fn get_or_insert_with(&mut self, conn: ConnId, make: impl FnOnce() -> V) -> &mut V {
        let at = match self.position(&conn) {
            Ok(at) => at,
            Err(at) => {
                self.keys.insert(at, conn);
                self.values.insert(at, make());
                self.rebuild_hints();
                at
            }
        };
        &mut self.values[at]
    }

    pub fn remove(&mut self, conn: &ConnId) -> Option<V> {
        let at = self.position(conn).ok()?;
        self.keys.remove(at);
        let value = self.values.remove(at);
        self.rebuild_hints();
        Some(value)
    }

    pub fn keys(&self) -> impl Iterator<Item = &ConnId> + '_ {
        self.keys.iter()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.values.iter()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.values.iter_mut()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ConnId, &V)> + '_ {
        self.keys.iter().zip(&self.values)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&ConnId, &mut V)> + '_ {
        self.keys.iter().zip(&mut self.values)
    }
}

impl<V> std::ops::Index<&ConnId> for ConnMap<V> {
    type Output = V;

    fn index(&self, conn: &ConnId) -> &V {
        self.get(conn).expect("no value for this connection")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn behaves_as_a_btree_map() {
        let mut ours = ConnMap::new();
        let mut theirs = BTreeMap::new();
        // A fixed pseudo-random sequence of inserts, replacements and removals.
        let mut x = 7u64;
        for step in 0..2000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let conn = ConnId((x >> 33) % 40);
            match (x >> 20) % 4 {
                0 | 1 => assert_eq!(ours.insert(conn, step), theirs.insert(conn, step)),
                2 => assert_eq!(ours.remove(&conn), theirs.remove(&conn)),
                _ => {
                    *ours.get_or_insert_with(conn, || step) += 1;
                    *theirs.entry(conn).or_insert(step) += 1;
                }
            }
            assert_eq!(ours.len(), theirs.len());
            assert_eq!(ours.contains_key(&conn), theirs.contains_key(&conn));
            assert_eq!(ours.get(&conn), theirs.get(&conn));
        }
        let ours: Vec<_> = ours.iter().map(|(k, v)| (*k, *v)).collect();
        let theirs: Vec<_> = theirs.into_iter().collect();
        assert_eq!(ours, theirs);
    }
}
