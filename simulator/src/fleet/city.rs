//! Florianópolis as the simulator sees it: the places where cars wait and customers live, the
//! service area cars must stay inside, and straight-line legs between places.

use geo::{Contains, Coord, Distance, Haversine, Line, LineString, Point, Polygon};
use rand::Rng;

/// A neighbourhood where cars are parked and customers start from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    /// Its usual name.
    pub name: &'static str,
    /// Latitude of its centre.
    pub lat: f64,
    /// Longitude of its centre.
    pub lon: f64,
    /// How far from the centre cars and people spread, in metres.
    pub spread_m: f64,
    /// Relative share of the cars and customers (the centre is busier than the beaches).
    pub weight: u32,
}

/// The places, island and mainland, with the share of the fleet each one gets.
pub const PLACES: [Place; 10] = [
    place("Centro", -27.5954, -48.5480, 1_200.0, 22),
    place("Trindade / UFSC", -27.6005, -48.5197, 1_000.0, 16),
    place("Agronômica", -27.5800, -48.5330, 900.0, 8),
    place("Lagoa da Conceição", -27.6035, -48.4690, 1_200.0, 10),
    place("Campeche", -27.6800, -48.4860, 1_500.0, 8),
    place("Canasvieiras", -27.4300, -48.4600, 1_300.0, 7),
    place("Ingleses", -27.4370, -48.3980, 1_300.0, 6),
    place("Aeroporto Hercílio Luz", -27.6700, -48.5470, 700.0, 7),
    place("Estreito", -27.5900, -48.5850, 1_000.0, 9),
    place("Coqueiros", -27.6080, -48.5780, 900.0, 7),
];

const fn place(name: &'static str, lat: f64, lon: f64, spread_m: f64, weight: u32) -> Place {
    Place {
        name,
        lat,
        lon,
        spread_m,
        weight,
    }
}

/// A point on the map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

impl Position {
    /// Great-circle distance in metres.
    pub fn distance_m(self, other: Position) -> f64 {
        Haversine.distance(self.point(), other.point())
    }

    /// The point `fraction` (0..=1) of the way to `other`, along the straight line.
    pub fn towards(self, other: Position, fraction: f64) -> Position {
        let fraction = fraction.clamp(0.0, 1.0);
        Position {
            lat: self.lat + (other.lat - self.lat) * fraction,
            lon: self.lon + (other.lon - self.lon) * fraction,
        }
    }

    /// Heading from here to `other`, degrees clockwise from north.
    pub fn heading_to(self, other: Position) -> f64 {
        let north = other.lat - self.lat;
        let east = (other.lon - self.lon) * self.lat.to_radians().cos();
        east.atan2(north).to_degrees().rem_euclid(360.0)
    }

    fn point(self) -> Point {
        Point::new(self.lon, self.lat)
    }

    fn coord(self) -> Coord {
        Coord {
            x: self.lon,
            y: self.lat,
        }
    }
}

/// Where cars may be used: the configured ring, as the services check it.
#[derive(Debug, Clone)]
pub struct City {
    area: Polygon,
}

impl City {
    /// The city with the service area `ring` (`[longitude, latitude]` points, closed).
    pub fn new(ring: &[[f64; 2]]) -> City {
        let exterior: LineString = ring.iter().map(|[lon, lat]| (*lon, *lat)).collect();
        City {
            area: Polygon::new(exterior, Vec::new()),
        }
    }

    /// Whether `position` is inside the service area.
    pub fn contains(&self, position: Position) -> bool {
        self.area.contains(&position.point())
    }

    /// Whether the straight line between two positions stays inside the service area (the
    /// area follows the coast, so a line from the north of the island to the mainland may not).
    pub fn leg_allowed(&self, from: Position, to: Position) -> bool {
        self.area.contains(&Line::new(from.coord(), to.coord()))
    }

    /// A place drawn by the places' weights.
    pub fn pick_place(&self, rng: &mut impl Rng) -> &'static Place {
        let total: u32 = PLACES.iter().map(|place| place.weight).sum();
        let mut ticket = rng.random_range(0..total);
        for place in &PLACES {
            if ticket < place.weight {
                return place;
            }
            ticket -= place.weight;
        }
        &PLACES[0]
    }

    /// A point in the service area near `place`; falls back to the place's centre when the
    /// draws keep landing outside (a place on the coast).
    pub fn near(&self, place: &Place, rng: &mut impl Rng) -> Position {
        let centre = Position {
            lat: place.lat,
            lon: place.lon,
        };
        for _ in 0..20 {
            let distance = place.spread_m * rng.random::<f64>().sqrt();
            let bearing = rng.random_range(0.0..std::f64::consts::TAU);
            let candidate = offset(centre, distance, bearing);
            if self.contains(candidate) {
                return candidate;
            }
        }
        centre
    }

    /// The end of a leg from `from`: a point near a random place reachable in a straight line
    /// inside the area, or `None` when no draw is.
    pub fn destination(&self, from: Position, rng: &mut impl Rng) -> Option<Position> {
        (0..20)
            .map(|_| {
                let place = self.pick_place(rng);
                self.near(place, rng)
            })
            .find(|to| to.distance_m(from) > 300.0 && self.leg_allowed(from, *to))
    }
}

/// The point `distance_m` metres from `from` on `bearing` (radians from north); flat-earth
/// arithmetic, exact enough over the few kilometres of a place's spread.
fn offset(from: Position, distance_m: f64, bearing: f64) -> Position {
    const METRES_PER_DEGREE: f64 = 111_320.0;
    let north = distance_m * bearing.cos() / METRES_PER_DEGREE;
    let east = distance_m * bearing.sin() / (METRES_PER_DEGREE * from.lat.to_radians().cos());
    Position {
        lat: from.lat + north,
        lon: from.lon + east,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::config::FleetConfig;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn city() -> City {
        City::new(&FleetConfig::default().service_area)
    }

    #[test]
    fn every_place_is_inside_the_service_area() {
        let city = city();
        for place in &PLACES {
            let centre = Position {
                lat: place.lat,
                lon: place.lon,
            };
            assert!(city.contains(centre), "{}", place.name);
        }
        assert!(!city.contains(Position {
            lat: -23.55,
            lon: -46.63
        }));
    }

    #[test]
    fn points_near_a_place_stay_inside_and_close() {
        let city = city();
        let mut rng = StdRng::seed_from_u64(7);
        for place in &PLACES {
            for _ in 0..200 {
                let point = city.near(place, &mut rng);
                assert!(city.contains(point), "{}", place.name);
                let centre = Position {
                    lat: place.lat,
                    lon: place.lon,
                };
                assert!(point.distance_m(centre) <= place.spread_m * 1.01);
            }
        }
    }

    #[test]
    fn legs_are_straight_lines_inside_the_area() {
        let city = city();
        let mut rng = StdRng::seed_from_u64(11);
        let start = Position {
            lat: -27.5954,
            lon: -48.5480,
        };
        let mut found = 0;
        for _ in 0..100 {
            if let Some(to) = city.destination(start, &mut rng) {
                assert!(city.leg_allowed(start, to));
                found += 1;
            }
        }
        assert!(found > 90, "{found}");
    }

    #[test]
    fn interpolation_and_heading_follow_the_line() {
        let a = Position {
            lat: -27.60,
            lon: -48.55,
        };
        let b = Position {
            lat: -27.50,
            lon: -48.55,
        };
        let middle = a.towards(b, 0.5);
        assert!((middle.lat + 27.55).abs() < 1e-9);
        assert!((a.heading_to(b) - 0.0).abs() < 1e-6, "north");
        assert!((b.heading_to(a) - 180.0).abs() < 1e-6, "south");
        assert!((a.distance_m(b) - 11_120.0).abs() < 50.0);
    }
}
