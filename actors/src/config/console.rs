//! The `[console]` section: what the operators' console draws besides the service area.

use serde::{Deserialize, Serialize};

use super::load::{ConfigError, value_error};

/// The operators' console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// A map tile server's URL template (`https://tiles.example.com/{z}/{x}/{y}.png`) drawn
    /// under the map where the network allows; empty (the default): the map is the service area
    /// and the labels alone, drawn from this configuration, so it works with no network at all.
    /// Its origin is added to the console's Content-Security-Policy `img-src`.
    pub tile_url: String,
    /// Places named on the map, so that operators find their way without tiles.
    pub neighbourhoods: Vec<Neighbourhood>,
}

/// A named place on the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Neighbourhood {
    /// Its name.
    pub name: String,
    /// Latitude of the label.
    pub lat: f64,
    /// Longitude of the label.
    pub lon: f64,
}

fn place(name: &str, lat: f64, lon: f64) -> Neighbourhood {
    Neighbourhood {
        name: name.to_owned(),
        lat,
        lon,
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            tile_url: String::new(),
            // Approximate centres of Florianópolis districts (public gazetteer coordinates).
            neighbourhoods: vec![
                place("Centro", -27.5954, -48.5480),
                place("Trindade", -27.5880, -48.5220),
                place("Itacorubi", -27.5830, -48.5000),
                place("Lagoa da Conceição", -27.6010, -48.4690),
                place("Santo Antônio de Lisboa", -27.5070, -48.5180),
                place("Jurerê", -27.4390, -48.4950),
                place("Canasvieiras", -27.4290, -48.4610),
                place("Ingleses", -27.4350, -48.3970),
                place("Rio Vermelho", -27.4990, -48.4150),
                place("Campeche", -27.6790, -48.4860),
                place("Ribeirão da Ilha", -27.7150, -48.5600),
                place("Pântano do Sul", -27.7790, -48.5080),
                place("Estreito", -27.5920, -48.5880),
                place("Coqueiros", -27.6060, -48.5770),
            ],
        }
    }
}

impl ConsoleConfig {
    /// Tiles only over HTTPS (or plain HTTP) with the `{z}`, `{x}` and `{y}` placeholders;
    /// labels named, within the globe.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.tile_url.is_empty() {
            let scheme_ok =
                self.tile_url.starts_with("https://") || self.tile_url.starts_with("http://");
            let placeholders = ["{z}", "{x}", "{y}"]
                .iter()
                .all(|part| self.tile_url.contains(part));
            if !scheme_ok || !placeholders || self.tile_url.contains(['"', '\'', ' ', ';']) {
                return Err(value_error(
                    "console.tile_url",
                    "",
                    "not a tile URL template",
                    "empty, or https://host/path/{z}/{x}/{y}.png",
                ));
            }
        }
        for neighbourhood in &self.neighbourhoods {
            let named = !neighbourhood.name.trim().is_empty() && neighbourhood.name.len() <= 80;
            let on_earth = (-90.0..=90.0).contains(&neighbourhood.lat)
                && (-180.0..=180.0).contains(&neighbourhood.lon);
            if !named || !on_earth {
                return Err(value_error(
                    "console.neighbourhoods",
                    "",
                    &format!(
                        "{:?} needs a name of 1 to 80 characters and a place on Earth",
                        neighbourhood.name
                    ),
                    "[{ name = \"Centro\", lat = -27.5954, lon = -48.548 }, ...]",
                ));
            }
        }
        Ok(())
    }

    /// The origin (scheme, host and port) of the tile server, for the CSP; `None` without one.
    pub fn tile_origin(&self) -> Option<String> {
        let (scheme, rest) = self.tile_url.split_once("://")?;
        let host = rest.split('/').next()?;
        Some(format!("{scheme}://{host}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_a_tile_template_must_have_its_placeholders() {
        let mut console = ConsoleConfig::default();
        assert!(console.validate().is_ok());
        assert_eq!(console.tile_origin(), None);
        console.tile_url = "https://tiles.example.com/{z}/{x}/{y}.png".into();
        assert!(console.validate().is_ok());
        assert_eq!(
            console.tile_origin().as_deref(),
            Some("https://tiles.example.com")
        );
        console.tile_url = "https://tiles.example.com/{z}/{x}.png".into();
        assert!(console.validate().is_err());
        console.tile_url = "javascript:alert(1)//{z}{x}{y}".into();
        assert!(console.validate().is_err());
        console.tile_url = String::new();
        console.neighbourhoods.push(place("", 0.0, 0.0));
        assert!(console.validate().is_err());
    }
}
