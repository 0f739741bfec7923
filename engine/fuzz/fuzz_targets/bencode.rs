//! The bounded bencode scanner: never panics, and agrees with itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarm_engine::bencode;

fuzz_target!(|data: &[u8]| {
    let valid = bencode::validate(data);
    let ranges = bencode::top_level_ranges(data, [b"info", b"announce"]);
    if let Ok([info, announce]) = ranges {
        // A dictionary accepted by the key scan is one well-formed value.
        assert!(valid.is_ok(), "top_level_ranges accepted what validate refused");
        for range in [info, announce].into_iter().flatten() {
            assert!(range.end <= data.len());
            assert!(bencode::validate(&data[range]).is_ok(), "a value range is not one value");
        }
    }
});
