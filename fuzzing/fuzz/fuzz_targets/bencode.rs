//! cargo-fuzz target: [`swarm_fuzzing::bencode`] over arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swarm_fuzzing::bencode(data));
