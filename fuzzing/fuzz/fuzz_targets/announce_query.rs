//! cargo-fuzz target: [`swarm_fuzzing::announce_query`] over arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swarm_fuzzing::announce_query(data));
