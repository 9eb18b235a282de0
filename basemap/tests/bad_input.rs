//! Garbage, truncated and mutated input to every reader gives an error, never a panic; and
//! MBTiles archives are checked at open.

use std::path::Path;

use convoy_basemap::{BaseMap, MbTiles, RasterFormat, StreetMap};
use proptest::prelude::*;

fn andorra() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/osm/andorra.osm.pbf")).unwrap()
}

fn monaco_xml() -> Vec<u8> {
    let gz = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/osm/monaco.osm.gz")).unwrap();
    let mut xml = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut xml).unwrap();
    xml
}

#[test]
fn a_truncated_extract_is_an_error() {
    let pbf = andorra();
    for cut in [0, 3, 100, pbf.len() / 3, pbf.len() / 2, pbf.len() - 1] {
        assert!(StreetMap::read_pbf(&pbf[..cut]).is_err(), "PBF cut at {cut}");
    }
    let xml = monaco_xml();
    for cut in [0, 50, xml.len() / 2, xml.len() - 20] {
        assert!(StreetMap::read_xml(&xml[..cut]).is_err(), "XML cut at {cut}");
    }
}

#[test]
fn not_a_map_is_named_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.osm.pbf");
    std::fs::write(&text, "these are not streets\n").unwrap();
    let error = BaseMap::open(&text).unwrap_err().to_string();
    assert!(error.contains("notes.osm.pbf") && error.contains("PBF"), "{error}");
    let missing = BaseMap::open(&dir.path().join("gone.osm.pbf")).unwrap_err().to_string();
    assert!(missing.contains("gone.osm.pbf") && missing.contains("cannot open"), "{missing}");
    let other = dir.path().join("map.png");
    std::fs::write(&other, [0x89, b'P', b'N', b'G']).unwrap();
    assert!(BaseMap::open(&other).unwrap_err().to_string().contains("not a map archive"));
    let fake = dir.path().join("fake.mbtiles");
    std::fs::write(&fake, b"SQLite format 3\0 and then nothing").unwrap();
    assert!(BaseMap::open(&fake).unwrap_err().to_string().contains("fake.mbtiles"));
}

/// A raster MBTiles archive with one tile, written as a tile server would.
fn archive(path: &Path, format: &str) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(
        "CREATE TABLE metadata (name TEXT, value TEXT);
         CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);",
    )
    .unwrap();
    for (k, v) in [
        ("name", "test"),
        ("format", format),
        ("minzoom", "1"),
        ("maxzoom", "3"),
        ("attribution", "© Test maps"),
        ("bounds", "1.4,42.4,1.8,42.7"),
    ] {
        db.execute("INSERT INTO metadata VALUES (?1, ?2)", [k, v]).unwrap();
    }
    // Row 2 from the south at zoom 2 is row 1 from the north.
    db.execute("INSERT INTO tiles VALUES (2, 3, 2, x'89504e47')", []).unwrap();
}

#[test]
fn a_raster_archive_serves_its_tiles_with_rows_from_the_north() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("region.mbtiles");
    archive(&path, "png");
    let tiles = MbTiles::open(&path).unwrap();
    assert_eq!(tiles.format, RasterFormat::Png);
    assert_eq!((tiles.min_zoom, tiles.max_zoom), (Some(1), Some(3)));
    assert_eq!(tiles.attribution.as_deref(), Some("© Test maps"));
    assert_eq!(tiles.bounds, Some([1.4, 42.4, 1.8, 42.7]));
    assert_eq!(tiles.tile(2, 3, 1).unwrap(), Some(vec![0x89, b'P', b'N', b'G']));
    assert_eq!(tiles.tile(2, 3, 2).unwrap(), None);
}

#[test]
fn a_vector_archive_is_refused_with_what_to_use_instead() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vector.mbtiles");
    archive(&path, "pbf");
    let error = BaseMap::open(&path).unwrap_err().to_string();
    assert!(
        error.contains("vector.mbtiles") && error.contains("vector") && error.contains(".osm.pbf"),
        "{error}"
    );
}

#[test]
fn a_truncated_archive_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("region.mbtiles");
    archive(&path, "png");
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.mbtiles");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let error = BaseMap::open(&cut).unwrap_err().to_string();
    assert!(error.contains("cut.mbtiles"), "{error}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn garbage_never_panics_a_reader(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = StreetMap::read_pbf(&bytes[..]);
        let _ = StreetMap::read_xml(&bytes[..]);
    }

    #[test]
    fn a_mutated_extract_never_panics_the_pbf_reader(at in 0usize..40_000, value in any::<u8>(), cut in 0usize..60_000) {
        // The first blocks: headers, string tables and the first nodes.
        let mut pbf = andorra();
        pbf.truncate(cut.max(1));
        let at = at % pbf.len();
        pbf[at] = value;
        let _ = StreetMap::read_pbf(&pbf[..]);
    }

    #[test]
    fn mutated_xml_never_panics_the_xml_reader(at in 0usize..100_000, value in any::<u8>(), cut in 0usize..200_000) {
        let mut xml = monaco_xml();
        xml.truncate(cut.max(1));
        let at = at % xml.len();
        xml[at] = value;
        let _ = StreetMap::read_xml(&xml[..]);
    }
}
