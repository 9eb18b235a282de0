//! The reader and the tiler on real OpenStreetMap extracts: Andorra (PBF) and Monaco (gzipped XML).

use std::path::{Path, PathBuf};

use convoy_basemap::{BaseMap, Class, StreetMap, StreetTile, EXTENT};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/osm").join(name)
}

fn streets(name: &str) -> StreetMap {
    match BaseMap::open(&data(name)).unwrap() {
        BaseMap::Streets(map) => map,
        BaseMap::Tiles(_) => panic!("{name} read as tiles"),
    }
}

/// The XYZ tile holding a place.
fn tile_of(map: &StreetMap, z: u8, lat: f64, lon: f64) -> StreetTile {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let sin = lat.to_radians().sin();
    let y = ((0.5 - ((1.0 + sin) / (1.0 - sin)).ln() / (4.0 * std::f64::consts::PI)) * n) as u32;
    map.tile(z, x, y)
}

/// A place on Avinguda de Tarragona, Andorra la Vella's main road along the river.
const TARRAGONA: (f64, f64) = (42.5025, 1.5140);

#[test]
fn a_known_street_is_found_with_its_name_and_class_in_the_tile_that_holds_it() {
    let map = streets("andorra.osm.pbf");
    let tile = tile_of(&map, 16, TARRAGONA.0, TARRAGONA.1);
    let street = tile.lines.iter().find(|l| l.name.as_deref() == Some("Avinguda de Tarragona"));
    assert_eq!(street.map(|l| l.class), Some(Class::Primary), "{:?}", tile.lines);
    let [west, south, east, north] = map.bounds();
    assert!(
        west < 1.45 && east > 1.75 && south < 42.45 && north > 42.65,
        "Andorra's box: {:?}",
        map.bounds()
    );
    assert!(map.len() > 1500, "about 1,700 highways and 300 buildings, read {}", map.len());
}

#[test]
fn every_line_is_clipped_to_its_tile_and_its_buffer() {
    let map = streets("andorra.osm.pbf");
    for z in [10, 13, 16] {
        let tile = tile_of(&map, z, TARRAGONA.0, TARRAGONA.1);
        assert!(!tile.lines.is_empty(), "zoom {z}");
        let edge = EXTENT as i32;
        for line in &tile.lines {
            assert!(line.points.len() >= 4 && line.points.len() % 2 == 0);
            assert!(line.points.iter().all(|v| (-8..=edge + 8).contains(v)), "zoom {z}: {line:?}");
        }
    }
}

#[test]
fn minor_streets_are_left_out_at_low_zoom_and_drawn_close_up() {
    let map = streets("andorra.osm.pbf");
    let far = tile_of(&map, 9, TARRAGONA.0, TARRAGONA.1);
    assert!(
        far.lines.iter().all(|l| l.class >= Class::Secondary),
        "{:?}",
        far.lines.iter().map(|l| l.class).collect::<Vec<_>>()
    );
    assert!(far.lines.iter().any(|l| l.class == Class::Primary));
    let near = tile_of(&map, 16, TARRAGONA.0, TARRAGONA.1);
    assert!(near.lines.iter().any(|l| l.class == Class::Minor));
}

#[test]
fn a_low_zoom_tile_is_simplified_to_fewer_points_than_the_streets_have() {
    let map = streets("andorra.osm.pbf");
    let points = |t: &StreetTile| t.lines.iter().map(|l| l.points.len() / 2).sum::<usize>();
    let whole_country = tile_of(&map, 10, TARRAGONA.0, TARRAGONA.1);
    // Andorra's major roads at zoom 10 are a few pixels long per kilometre: their many nodes fall
    // onto few pixels.
    let z16: usize = (0..4u32)
        .flat_map(|dx| (0..4u32).map(move |dy| (dx, dy)))
        .map(|(dx, dy)| {
            let t = tile_of(&map, 12, TARRAGONA.0, TARRAGONA.1);
            points(&map.tile(12, t.x + dx - 1, t.y + dy - 1))
        })
        .sum();
    assert!(
        points(&whole_country) * 2 < z16,
        "zoom 10: {} points, 16 tiles of zoom 12: {z16}",
        points(&whole_country)
    );
    // Lines are drawn in order: the least important first.
    assert!(whole_country.lines.windows(2).all(|w| w[0].class <= w[1].class));
}

#[test]
fn a_tile_outside_the_extract_is_empty() {
    let map = streets("andorra.osm.pbf");
    let munich = tile_of(&map, 14, 48.137, 11.575);
    assert!(munich.lines.is_empty() && munich.areas.is_empty());
    let world = map.tile(0, 0, 0);
    assert!(world.lines.iter().all(|l| l.class == Class::Motorway));
}

#[test]
fn buildings_come_as_areas_close_up() {
    let map = streets("monaco.osm.gz");
    // Monte Carlo.
    let tile = tile_of(&map, 16, 43.7396, 7.4270);
    assert!(!tile.areas.is_empty(), "Monaco's extract has buildings");
    assert!(tile.areas.iter().all(|a| a.class == Class::Building && a.points.len() >= 6));
    assert!(!tile.lines.is_empty());
    let [west, _, east, _] = map.bounds();
    assert!(west > 7.3 && east < 7.5, "{:?}", map.bounds());
}

#[test]
fn the_json_of_a_tile_is_compact() {
    let map = streets("andorra.osm.pbf");
    let tile = tile_of(&map, 16, TARRAGONA.0, TARRAGONA.1);
    let json = serde_json::to_value(&tile).unwrap();
    assert_eq!(json["extent"], 256);
    let first = &json["lines"][0];
    assert!(first["class"].is_string() && first["points"][0].is_i64(), "{first}");
}
