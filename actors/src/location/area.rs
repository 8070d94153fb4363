//! The service area: where cars may be picked up and searched for.

use geo::{Coord, Intersects, LineString, Point, Polygon};

/// The polygon of `fleet.service_area`. A point on the boundary counts as inside: the ring is
/// drawn with a sea margin, so its edge is never a street where the answer would matter.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceArea {
    polygon: Polygon<f64>,
}

impl ServiceArea {
    /// The area of a ring of `[longitude, latitude]` points, as the configuration holds it
    /// (validated there: at least 3 distinct points in range). An open ring is closed.
    pub fn new(ring: &[[f64; 2]]) -> Self {
        let coords: Vec<Coord<f64>> = ring.iter().map(|&[x, y]| Coord { x, y }).collect();
        ServiceArea {
            polygon: Polygon::new(LineString::from(coords), Vec::new()),
        }
    }

    /// The area configured in `fleet.service_area`.
    pub fn from_config(config: &crate::config::Config) -> Self {
        ServiceArea::new(&config.fleet.service_area)
    }

    /// Whether the point is in the area.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        self.polygon.intersects(&Point::new(lon, lat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn florianopolis() -> ServiceArea {
        ServiceArea::from_config(&Config::default())
    }

    #[test]
    fn the_island_and_the_continental_districts_are_inside() {
        let area = florianopolis();
        for (name, lat, lon) in [
            ("Centro", -27.5954, -48.5480),
            ("UFSC/Trindade", -27.6005, -48.5196),
            ("Lagoa da Conceição", -27.6036, -48.4706),
            ("Campeche", -27.6847, -48.4836),
            ("Canasvieiras", -27.4296, -48.4612),
            ("Hercílio Luz airport", -27.6702, -48.5525),
            ("Estreito", -27.5892, -48.5830),
        ] {
            assert!(area.contains(lat, lon), "{name} should be inside");
        }
    }

    #[test]
    fn neighbouring_towns_and_the_open_sea_are_outside() {
        let area = florianopolis();
        for (name, lat, lon) in [
            ("São José", -27.6136, -48.6366),
            ("Palhoça", -27.6453, -48.6697),
            ("open sea east", -27.6, -48.2),
        ] {
            assert!(!area.contains(lat, lon), "{name} should be outside");
        }
    }

    #[test]
    fn a_ring_may_be_given_open_and_its_edge_counts_as_inside() {
        let square = ServiceArea::new(&[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]);
        assert!(square.contains(0.5, 0.5));
        assert!(square.contains(0.0, 0.5), "on the edge");
        assert!(!square.contains(1.5, 0.5));
    }
}
