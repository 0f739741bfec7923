//! Test files: a temporary directory, pseudo-random content, an atomically re-pointed link.

use std::path::{Path, PathBuf};

/// A temporary directory kept for the test's life.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Writes a file of `len` pseudo-random bytes.
pub fn write_file(path: &PathBuf, len: usize, seed: u8) {
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[i % 4] ^ seed)
        .collect();
    std::fs::write(path, data).unwrap();
}

/// Points `link` at `target` atomically (a new link renamed over the old one).
pub fn repoint(link: &Path, target: &Path, scratch: &Path) {
    let _ = std::fs::remove_file(scratch);
    std::os::unix::fs::symlink(target, scratch).unwrap();
    std::fs::rename(scratch, link).unwrap();
}
