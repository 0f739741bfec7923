//! cargo-fuzz target: [`swarm_fuzzing::scenario`] over arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swarm_fuzzing::scenario(data));
