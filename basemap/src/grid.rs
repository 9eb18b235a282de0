//! A grid over the world at a fixed zoom: each cell lists the features whose bounding box
//! touches it, so a tile looks only at what is near it, however large the extract.

use std::collections::HashMap;

/// The zoom of the grid's cells (about 2.4 km wide at the equator).
const CELL_ZOOM: u32 = 14;
const CELLS: f64 = (1u32 << CELL_ZOOM) as f64;
/// A feature spanning more cells than this (a long motorway) is kept in one list every query reads.
const MAX_CELLS_PER_FEATURE: u64 = 256;

#[derive(Debug, Default)]
pub(crate) struct Grid {
    cells: HashMap<(u32, u32), Vec<u32>>,
    large: Vec<u32>,
    count: usize,
}

fn cell_range(bbox: [f64; 4]) -> (u32, u32, u32, u32) {
    let cell = |v: f64| (v.clamp(0.0, 1.0) * CELLS).floor().min(CELLS - 1.0) as u32;
    (cell(bbox[0]), cell(bbox[1]), cell(bbox[2]), cell(bbox[3]))
}

impl Grid {
    /// The grid of features given by their bounding boxes (in Web Mercator units).
    pub fn new(boxes: impl Iterator<Item = [f64; 4]>) -> Self {
        let mut grid = Self::default();
        for (id, bbox) in boxes.enumerate() {
            let id = id as u32;
            grid.count += 1;
            let (x0, y0, x1, y1) = cell_range(bbox);
            if u64::from(x1 - x0 + 1) * u64::from(y1 - y0 + 1) > MAX_CELLS_PER_FEATURE {
                grid.large.push(id);
                continue;
            }
            for x in x0..=x1 {
                for y in y0..=y1 {
                    grid.cells.entry((x, y)).or_default().push(id);
                }
            }
        }
        grid
    }

    /// The features whose cells touch `bbox`, each once, in the order they were given.
    pub fn query(&self, bbox: [f64; 4]) -> Vec<u32> {
        let (x0, y0, x1, y1) = cell_range(bbox);
        let cells = u64::from(x1 - x0 + 1) * u64::from(y1 - y0 + 1);
        if cells > self.cells.len() as u64 {
            // A low zoom: fewer cells are filled than the tile covers.
            let mut ids: Vec<u32> = self
                .cells
                .iter()
                .filter(|((x, y), _)| (x0..=x1).contains(x) && (y0..=y1).contains(y))
                .flat_map(|(_, ids)| ids.iter().copied())
                .chain(self.large.iter().copied())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            return ids;
        }
        let mut ids: Vec<u32> = self.large.clone();
        for x in x0..=x1 {
            for y in y0..=y1 {
                if let Some(list) = self.cells.get(&(x, y)) {
                    ids.extend_from_slice(list);
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    pub fn len(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_finds_what_touches_it_and_not_what_is_far() {
        let near = [0.5, 0.5, 0.5001, 0.5001];
        let far = [0.1, 0.1, 0.1001, 0.1001];
        let long = [0.0, 0.5, 1.0, 0.5001];
        let grid = Grid::new([near, far, long].into_iter());
        assert_eq!(grid.query([0.49999, 0.49999, 0.50002, 0.50002]), vec![0, 2]);
        assert_eq!(grid.query([0.0, 0.0, 1.0, 1.0]), vec![0, 1, 2], "the whole world");
        assert_eq!(grid.len(), 3);
    }
}
