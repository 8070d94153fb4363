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

    /// How far the point is from the nearest edge of the area, in metres (whether it lies
    /// inside or outside), so that a renter told their car is outside learns how far to drive.
    ///
    /// Each edge is measured in a flat (equirectangular) projection centred on the point: at
    /// city scale that is within centimetres of the great-circle distance, and unlike a
    /// closest point found in degrees it does not favour north–south edges over east–west ones.
    pub fn distance_to_edge_m(&self, lat: f64, lon: f64) -> f64 {
        let metres_per_degree = EARTH_RADIUS_M.to_radians();
        let x_scale = metres_per_degree * lat.to_radians().cos();
        let project = |coord: &Coord<f64>| {
            (
                (coord.x - lon) * x_scale,
                (coord.y - lat) * metres_per_degree,
            )
        };
        self.polygon
            .exterior()
            .lines()
            .map(|line| segment_distance_to_origin(project(&line.start), project(&line.end)))
            .fold(f64::INFINITY, f64::min)
    }
}

/// The mean Earth radius geo's haversine uses, so that figures agree with `fix::distance_m`.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The distance from the origin to the segment `a`–`b` of the plane.
fn segment_distance_to_origin(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length_squared = dx * dx + dy * dy;
    let t = if length_squared == 0.0 {
        0.0
    } else {
        (-(a.0 * dx + a.1 * dy) / length_squared).clamp(0.0, 1.0)
    };
    let (x, y) = (a.0 + t * dx, a.1 + t * dy);
    x.hypot(y)
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

    #[test]
    fn the_distance_to_the_edge_is_measured_in_metres_to_the_nearest_side() {
        // A square of 0.01° a side at the equator: 0.01° is about 1,112 m.
        let square = ServiceArea::new(&[[0.0, 0.0], [0.01, 0.0], [0.01, 0.01], [0.0, 0.01]]);
        let one_hundredth = 1_111.95;
        let outside_east = square.distance_to_edge_m(0.005, 0.02);
        assert!((outside_east - one_hundredth).abs() < 1.0, "{outside_east}");
        let centre = square.distance_to_edge_m(0.005, 0.005);
        assert!((centre - one_hundredth / 2.0).abs() < 1.0, "{centre}");
        assert!(square.distance_to_edge_m(0.0, 0.005) < 0.01, "on the edge");
        // Beyond a corner the nearest point is the corner itself.
        let diagonal = square.distance_to_edge_m(-0.01, -0.01);
        assert!(
            (diagonal - one_hundredth * std::f64::consts::SQRT_2).abs() < 2.0,
            "{diagonal}"
        );
    }

    #[test]
    fn palhoca_is_some_kilometres_from_florianopolis_and_centro_is_near_its_shore() {
        let area = florianopolis();
        let palhoca = area.distance_to_edge_m(-27.6453, -48.6697);
        assert!(palhoca > 1_000.0 && palhoca < 20_000.0, "{palhoca}");
        let centro = area.distance_to_edge_m(-27.5954, -48.5480);
        assert!(centro < 5_000.0, "{centro}");
    }
}
