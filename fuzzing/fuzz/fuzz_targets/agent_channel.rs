//! cargo-fuzz target: [`swarm_fuzzing::agent_channel`] over arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| swarm_fuzzing::agent_channel(data));
