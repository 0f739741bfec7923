//! cargo-fuzz target: [`swarm_fuzzing::handshake`] over arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swarm_fuzzing::handshake(data));
