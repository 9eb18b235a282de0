//! What the base map costs: reading an extract at start, and cutting a tile (with its JSON).
//!
//!     cargo bench -p convoy-basemap --bench tiles
//!
//! Reads data/osm/andorra.osm.pbf and data/osm/monaco.osm.gz five times each, then cuts every
//! tile over each extract's bounds at zooms 10 to 17 (Andorra) or 13 to 18 (Monaco), serialising
//! each to JSON as the server does, and prints the times.

use std::path::Path;
use std::time::{Duration, Instant};

use convoy_basemap::{BaseMap, StreetMap};

fn main() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/osm");
    for (file, zooms) in [("andorra.osm.pbf", 10..=17u8), ("monaco.osm.gz", 13..=18u8)] {
        let path = data.join(file);
        let size = std::fs::metadata(&path).unwrap().len();
        let mut loads = Vec::new();
        let mut map = None;
        for _ in 0..5 {
            let started = Instant::now();
            let BaseMap::Streets(streets) = BaseMap::open(&path).unwrap() else {
                panic!("{file} is an extract")
            };
            loads.push(started.elapsed());
            map = Some(streets);
        }
        let map = map.unwrap();
        loads.sort();
        println!(
            "{file} ({} KiB, {} streets and buildings): load median {:.1} ms, best {:.1} ms",
            size / 1024,
            map.len(),
            ms(loads[2]),
            ms(loads[0])
        );
        for z in zooms {
            tiles_at(&map, z);
        }
    }
}

fn tiles_at(map: &StreetMap, z: u8) {
    let [west, south, east, north] = map.bounds();
    let n = f64::from(1u32 << z);
    let column = |lon: f64| ((lon + 180.0) / 360.0 * n) as u32;
    let row = |lat: f64| {
        let sin = lat.to_radians().sin();
        ((0.5 - ((1.0 + sin) / (1.0 - sin)).ln() / (4.0 * std::f64::consts::PI)) * n) as u32
    };
    let (mut count, mut bytes, mut slowest) = (0usize, 0usize, Duration::ZERO);
    let started = Instant::now();
    for x in column(west)..=column(east) {
        for y in row(north)..=row(south) {
            let one = Instant::now();
            let json = serde_json::to_vec(&map.tile(z, x, y)).unwrap();
            slowest = slowest.max(one.elapsed());
            bytes += json.len();
            count += 1;
        }
    }
    let total = started.elapsed();
    println!(
        "  zoom {z:>2}: {count:>5} tiles, {:>7.1} µs a tile on average (slowest {:>6.1} µs), {:>6} bytes of JSON a tile",
        total.as_secs_f64() * 1e6 / count as f64,
        slowest.as_secs_f64() * 1e6,
        bytes / count
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
