//! Deterministic test content: pseudo-random bytes from a seed, written as files and trees;
//! large files (tens of MiB to GiB) written and compared without holding them in memory.

use std::fs;
use std::io::{BufReader, BufWriter, Read, Write};
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

/// Writes `len` pseudo-random (incompressible) bytes from `seed` to `path` in 1 MiB
/// chunks, creating its parents: for files too large for [`write()`], which holds them in
/// memory (a different stream: eight bytes per xorshift step).
///
/// # Panics
/// When the file cannot be written (a test failure).
pub fn write_large(path: &Path, len: usize, seed: u64) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent");
    }
    let mut file = BufWriter::new(fs::File::create(path).expect("create test file"));
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(chunk.len());
        file.write_all(&chunk[..n]).expect("write test file");
        left -= n;
    }
    file.flush().expect("write test file");
}

/// Whether two files exist and hold the same bytes (read 1 MiB at a time).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(a), Ok(b)) = (fs::File::open(a), fs::File::open(b)) else {
        return false;
    };
    let (mut a, mut b) = (BufReader::new(a), BufReader::new(b));
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let (n, m) = (read_full(&mut a, &mut x), read_full(&mut b, &mut y));
        if n != m || x[..n] != y[..m] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

/// Reads until `buf` is full or the reader ends (or fails); how many bytes it read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    filled
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

    #[test]
    fn large_files_compare_equal_only_to_their_copy() {
        let dir = std::env::temp_dir().join(format!("swarm-content-{}", std::process::id()));
        let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
        let len = (3 << 20) + 5;
        write_large(&a, len, 9);
        fs::copy(&a, &b).unwrap();
        write_large(&c, len, 10);
        assert_eq!(fs::metadata(&a).unwrap().len(), len as u64);
        assert!(same_file(&a, &b));
        assert!(!same_file(&a, &c));
        flip_byte(&b, len - 1);
        assert!(!same_file(&a, &b));
        assert!(!same_file(&a, &dir.join("missing")));
        fs::remove_dir_all(&dir).unwrap();
    }
}
