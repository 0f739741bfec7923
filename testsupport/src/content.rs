//! Deterministic test content: pseudo-random bytes from a seed, written as files and trees.

use std::fs;
use std::path::Path;

/// `len` pseudo-random bytes (xorshift64 from `seed`); the same seed gives the same bytes.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Writes [`bytes`]`(len, seed)` to `path`, creating its parents; returns them.
///
/// # Panics
/// When the file cannot be written (a test failure).
pub fn write(path: &Path, len: usize, seed: u64) -> Vec<u8> {
    let data = bytes(len, seed);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent");
    }
    fs::write(path, &data).expect("write test file");
    data
}

/// A multi-file tree: `root/a.bin`, `root/sub/b.bin`, `root/sub/deeper/c.bin`, `root/empty`.
pub fn write_tree(root: &Path) {
    write(&root.join("a.bin"), 70_000, 1);
    write(&root.join("sub/b.bin"), 33_333, 2);
    write(&root.join("sub/deeper/c.bin"), 100_001, 3);
    fs::write(root.join("empty"), b"").expect("write empty file");
}

/// Flips one bit of the byte at `offset` in `path`.
pub fn flip_byte(path: &Path, offset: usize) {
    let mut data = fs::read(path).expect("read");
    data[offset] ^= 0x40;
    fs::write(path, data).expect("write");
}

/// Whether two files exist and hold the same bytes.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::read(a), fs::read(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_deterministic_and_seeds_differ() {
        assert_eq!(bytes(1000, 7), bytes(1000, 7));
        assert_ne!(bytes(1000, 7), bytes(1000, 8));
        assert_eq!(&bytes(1000, 7)[..10], &bytes(10, 7)[..]);
    }
}
