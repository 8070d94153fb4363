//! The in-memory spatial grid behind "cars near me".
//!
//! The map is cut into cells of 0.01° × 0.01° (about 1.1 km × 1 km at Florianópolis). Each cell
//! holds the ids of the cars whose latest position lies in it, so a search looks at the few
//! cells a radius covers instead of every car of the fleet. The grid is derived data: it is
//! rebuilt at start from the `latest` and `listed` tables and kept current by the trackers,
//! so it is never persisted and never needs a migration.

use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use geo::Haversine;

use super::fix::distance_m;
use crate::ids::VehicleId;

/// The side of a cell, in degrees of latitude and of longitude.
pub(crate) const CELL_DEG: f64 = 0.01;

/// A cell: (latitude index, longitude index), `floor(degrees / CELL_DEG)`.
pub(crate) type Cell = (i32, i32);

/// The cell of a point. Every placement and every search goes through this one function, so
/// floating-point rounding can never put a car in a cell the search computes differently.
pub(crate) fn cell_of(lat: f64, lon: f64) -> Cell {
    (
        (lat / CELL_DEG).floor() as i32,
        (lon / CELL_DEG).floor() as i32,
    )
}

/// A rectangle of cells, bounds included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CellRange {
    pub(crate) lat: RangeInclusive<i32>,
    pub(crate) lon: RangeInclusive<i32>,
}

impl CellRange {
    pub(crate) fn contains(&self, cell: &Cell) -> bool {
        self.lat.contains(&cell.0) && self.lon.contains(&cell.1)
    }

    /// How many cells the rectangle holds.
    pub(crate) fn len(&self) -> usize {
        let span = |range: &RangeInclusive<i32>| {
            usize::try_from(i64::from(*range.end()) - i64::from(*range.start()) + 1).unwrap_or(0)
        };
        span(&self.lat).saturating_mul(span(&self.lon))
    }

    fn cells(&self) -> impl Iterator<Item = Cell> + '_ {
        self.lat
            .clone()
            .flat_map(move |lat| self.lon.clone().map(move |lon| (lat, lon)))
    }
}

/// The cells that hold every point within `radius_m` metres (great-circle, on the sphere the
/// distance is measured on) of the point.
///
/// The latitude half-span is the radius as an angle; the longitude half-span divides it by the
/// cosine of the highest latitude the circle reaches, where a degree of longitude is shortest.
/// A 1 % margin absorbs the small-angle approximation. Longitudes are clamped to ±180° and do
/// not wrap: a service area never straddles the antimeridian here, and near a pole the whole
/// circle of longitudes is covered.
pub(crate) fn cells_covering(lat: f64, lon: f64, radius_m: f64) -> CellRange {
    let metres_per_degree = Haversine.radius().to_radians();
    let half_lat = radius_m / metres_per_degree * 1.01;
    let (south, north) = ((lat - half_lat).max(-90.0), (lat + half_lat).min(90.0));
    let highest = south.abs().max(north.abs());
    let (west, east) = if highest >= 89.0 {
        (-180.0, 180.0)
    } else {
        let half_lon = half_lat / highest.to_radians().cos();
        ((lon - half_lon).max(-180.0), (lon + half_lon).min(180.0))
    };
    let (south_west, north_east) = (cell_of(south, west), cell_of(north, east));
    CellRange {
        lat: south_west.0..=north_east.0,
        lon: south_west.1..=north_east.1,
    }
}

/// Where a car is in the grid.
#[derive(Debug, Clone, Copy)]
struct Placed {
    lat: f64,
    lon: f64,
    cell: Cell,
}

/// Cars by cell, and which cars are listed (offered to customers).
#[derive(Debug, Default)]
pub(crate) struct GridIndex {
    cells: HashMap<Cell, HashSet<VehicleId>>,
    cars: HashMap<VehicleId, Placed>,
    listed: HashSet<VehicleId>,
}

impl GridIndex {
    /// Puts the car at the point, moving it out of its previous cell.
    pub(crate) fn place(&mut self, id: VehicleId, lat: f64, lon: f64) {
        let cell = cell_of(lat, lon);
        if let Some(previous) = self.cars.insert(id, Placed { lat, lon, cell }) {
            if previous.cell == cell {
                return;
            }
            self.leave(id, previous.cell);
        }
        self.cells.entry(cell).or_default().insert(id);
    }

    /// Takes the car out of the grid (it is where no search should find it).
    pub(crate) fn remove(&mut self, id: VehicleId) {
        if let Some(previous) = self.cars.remove(&id) {
            self.leave(id, previous.cell);
        }
    }

    fn leave(&mut self, id: VehicleId, cell: Cell) {
        if let Some(ids) = self.cells.get_mut(&cell) {
            ids.remove(&id);
            if ids.is_empty() {
                self.cells.remove(&cell);
            }
        }
    }

    /// Marks the car as offered to customers, or not.
    pub(crate) fn set_listed(&mut self, id: VehicleId, listed: bool) {
        if listed {
            self.listed.insert(id);
        } else {
            self.listed.remove(&id);
        }
    }

    /// The listed cars within `radius_m` of the point with their distances, nearest first
    /// (ties by id, so the order is stable).
    pub(crate) fn within(&self, lat: f64, lon: f64, radius_m: f64) -> Vec<(VehicleId, f64)> {
        let range = cells_covering(lat, lon, radius_m);
        let mut found: Vec<(VehicleId, f64)> = Vec::new();
        let mut visit = |ids: &HashSet<VehicleId>| {
            for id in ids.iter().filter(|id| self.listed.contains(id)) {
                if let Some(car) = self.cars.get(id) {
                    let distance = distance_m(lat, lon, car.lat, car.lon);
                    if distance <= radius_m {
                        found.push((*id, distance));
                    }
                }
            }
        };
        // A wide radius over a sparse fleet: walking the occupied cells is cheaper than
        // probing every cell of the rectangle.
        if range.len() > self.cells.len() {
            for (cell, ids) in &self.cells {
                if range.contains(cell) {
                    visit(ids);
                }
            }
        } else {
            for cell in range.cells() {
                if let Some(ids) = self.cells.get(&cell) {
                    visit(ids);
                }
            }
        }
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found
    }
}

/// The grid shared by the service handle (searches) and the trackers (moves).
///
/// A std lock, not an async one: it is held for a few hash-map operations and never across an
/// await. A poisoned lock (a panic while holding it) is taken over as is: every operation
/// leaves the maps consistent between statements, and the trackers would fix a stale cell with
/// the next fix anyway.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedGrid(Arc<RwLock<GridIndex>>);

impl SharedGrid {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, GridIndex> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, GridIndex> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Destination, Point};
    use proptest::prelude::*;

    #[test]
    fn cells_are_a_hundredth_of_a_degree() {
        assert_eq!(cell_of(-27.5954, -48.5480), (-2760, -4855));
        assert_eq!(cell_of(0.0, 0.0), (0, 0));
        assert_eq!(cell_of(-0.0001, 0.0099), (-1, 0));
    }

    #[test]
    fn a_small_radius_covers_one_cell_in_the_middle_and_four_at_a_corner() {
        // 400 m is about 0.0036° of latitude and 0.0041° of longitude at this latitude.
        let middle = cells_covering(-27.595, -48.545, 400.0);
        assert_eq!(middle.lat, -2760..=-2760);
        assert_eq!(middle.lon, -4855..=-4855);
        let corner = cells_covering(-27.5995, -48.5405, 400.0);
        assert_eq!(corner.lat, -2761..=-2760);
        assert_eq!(corner.lon, -4855..=-4854);
        assert_eq!(corner.len(), 4);
        // 5 km spans about 4.5 cells of latitude and 5 of longitude each way.
        let wide = cells_covering(-27.5955, -48.5455, 5_000.0);
        assert!((9..=11).contains(&wide.lat.clone().count()), "{wide:?}");
        assert!((10..=12).contains(&wide.lon.clone().count()), "{wide:?}");
    }

    #[test]
    fn a_car_50_m_away_across_a_cell_border_is_found() {
        // The search point sits 5 m north of the border at -27.60; the car 45 m south of it.
        let (lat, lon) = (-27.59995, -48.5455);
        let car = Haversine.destination(Point::new(lon, lat), 180.0, 50.0);
        assert_ne!(cell_of(lat, lon), cell_of(car.y(), car.x()));
        let mut grid = GridIndex::default();
        let id = VehicleId::new();
        grid.place(id, car.y(), car.x());
        grid.set_listed(id, true);
        let found = grid.within(lat, lon, 60.0);
        assert_eq!(found.len(), 1);
        assert!((found[0].1 - 50.0).abs() < 0.01, "{found:?}");
        // The same across a longitude border, going east.
        let (lat, lon) = (-27.5955, -48.54001);
        let car = Haversine.destination(Point::new(lon, lat), 90.0, 50.0);
        assert_ne!(cell_of(lat, lon).1, cell_of(car.y(), car.x()).1);
        grid.place(id, car.y(), car.x());
        assert_eq!(grid.within(lat, lon, 51.0).len(), 1);
        assert!(grid.within(lat, lon, 49.0).is_empty());
    }

    #[test]
    fn only_listed_cars_within_the_radius_come_back_nearest_first() {
        let mut grid = GridIndex::default();
        let (far, near, unlisted, outside) = (
            VehicleId::new(),
            VehicleId::new(),
            VehicleId::new(),
            VehicleId::new(),
        );
        grid.place(far, -27.6005, -48.5196); // Trindade, ~2.9 km from Centro
        grid.place(near, -27.5960, -48.5470);
        grid.place(unlisted, -27.5955, -48.5481);
        grid.place(outside, -27.6847, -48.4836); // Campeche, ~13 km
        for id in [far, near, outside] {
            grid.set_listed(id, true);
        }
        let found: Vec<VehicleId> = grid
            .within(-27.5954, -48.5480, 5_000.0)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(found, [near, far]);
        // Moving a car moves it between cells; removing it takes it out.
        grid.place(near, -27.6847, -48.4840);
        assert_eq!(grid.within(-27.5954, -48.5480, 5_000.0).len(), 1);
        grid.remove(far);
        assert!(grid.within(-27.5954, -48.5480, 5_000.0).is_empty());
        grid.set_listed(unlisted, true);
        assert_eq!(grid.within(-27.5954, -48.5480, 5_000.0).len(), 1);
        assert_eq!(grid.cells.values().map(HashSet::len).sum::<usize>(), 3);
    }

    proptest! {
        #[test]
        fn every_point_within_the_radius_lies_in_a_covered_cell(
            lat in -80.0f64..80.0,
            lon in -170.0f64..170.0,
            radius in 1.0f64..50_000.0,
            fraction in 0.0f64..=1.0,
            bearing in 0.0f64..360.0,
        ) {
            let target = Haversine.destination(Point::new(lon, lat), bearing, radius * fraction);
            let range = cells_covering(lat, lon, radius);
            prop_assert!(range.contains(&cell_of(target.y(), target.x())), "{range:?}");
        }
    }
}
