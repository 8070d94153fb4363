//! The neighbourhood a rental started in, for revenue by area.
//!
//! The configuration names the city's neighbourhoods by their centres (`console.neighbourhoods`,
//! the labels the console draws), not by their borders, so a position belongs to the nearest
//! centre: the Voronoi cells of the labels. That is what an operator reading the map expects
//! (the car was "in Trindade" when Trindade's label is the closest one), and it needs no
//! boundary data the project does not have. A position farther than [`MAX_AREA_KM`] from every
//! centre is `outside`; with no neighbourhood configured at all, areas fall back to grid cells.
//!
//! The area is worked out when a report is read, from the start position the projection keeps,
//! so renaming or adding a neighbourhood changes the report at once, with no rebuild.

use geo::{Distance, Haversine, Point};

use crate::config::Neighbourhood;

/// Beyond this distance from every neighbourhood's centre a position is `outside` (the island
/// is about 54 km long; its districts' centres are a few kilometres apart).
pub const MAX_AREA_KM: f64 = 8.0;

/// The name of positions far from every neighbourhood.
pub const OUTSIDE: &str = "outside";

/// The name of trips whose start position is not known.
pub const UNKNOWN: &str = "unknown";

/// Size of a fallback grid cell, degrees (about 1.1 km north–south, 1 km east–west at the
/// island's latitude).
pub const AREA_CELL_DEG: f64 = 0.01;

/// The configured neighbourhoods, as the reports name areas by them.
#[derive(Debug, Clone, Default)]
pub struct Areas {
    places: Vec<Neighbourhood>,
}

impl Areas {
    /// Areas named after `places` (the console's neighbourhoods).
    pub fn new(places: Vec<Neighbourhood>) -> Self {
        Areas { places }
    }

    /// The area of a start position, or [`UNKNOWN`] when there is none.
    pub fn name_of(&self, place: Option<(f64, f64)>) -> String {
        let Some((lat, lon)) = place else {
            return UNKNOWN.to_owned();
        };
        if self.places.is_empty() {
            return grid_cell(lat, lon);
        }
        let here = Point::new(lon, lat);
        self.places
            .iter()
            .map(|place| {
                let metres = Haversine.distance(here, Point::new(place.lon, place.lat));
                (metres, place)
            })
            .filter(|(metres, _)| *metres <= MAX_AREA_KM * 1_000.0)
            .min_by(|(a, _), (b, _)| a.total_cmp(b))
            .map_or_else(|| OUTSIDE.to_owned(), |(_, place)| place.name.clone())
    }
}

/// The grid cell of a position, named by its south-west corner: `cell:-27.60,-48.55`.
pub fn grid_cell(lat: f64, lon: f64) -> String {
    let corner = |degrees: f64| (degrees / AREA_CELL_DEG).floor() * AREA_CELL_DEG;
    format!("cell:{:.2},{:.2}", corner(lat), corner(lon))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConsoleConfig;

    fn florianopolis() -> Areas {
        Areas::new(ConsoleConfig::default().neighbourhoods)
    }

    #[test]
    fn a_position_belongs_to_the_nearest_neighbourhood() {
        let areas = florianopolis();
        // Beside the Federal University, closer to Trindade's centre than to Centro's.
        assert_eq!(areas.name_of(Some((-27.6005, -48.5190))), "Trindade");
        // Praça XV de Novembro.
        assert_eq!(areas.name_of(Some((-27.5969, -48.5495))), "Centro");
        // The lagoon's bridge.
        assert_eq!(
            areas.name_of(Some((-27.6035, -48.4660))),
            "Lagoa da Conceição"
        );
    }

    #[test]
    fn far_from_every_centre_is_outside_and_no_position_is_unknown() {
        let areas = florianopolis();
        // São José's industrial district, past the continent's edge of the city.
        assert_eq!(areas.name_of(Some((-27.55, -48.70))), OUTSIDE);
        assert_eq!(areas.name_of(None), UNKNOWN);
    }

    #[test]
    fn without_neighbourhoods_an_area_is_the_south_west_corner_of_its_cell() {
        let areas = Areas::default();
        assert_eq!(
            areas.name_of(Some((-27.5954, -48.548))),
            "cell:-27.60,-48.55"
        );
        assert_eq!(grid_cell(-27.5901, -48.5401), "cell:-27.60,-48.55");
        assert_ne!(grid_cell(-27.5899, -48.548), grid_cell(-27.5901, -48.548));
    }
}
