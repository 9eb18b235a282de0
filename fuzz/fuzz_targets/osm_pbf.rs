//! Any bytes given to the base map's OpenStreetMap PBF reader: an error or a street map, never
//! a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convoy_basemap::StreetMap::read_pbf(data);
});
