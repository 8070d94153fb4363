//! A writer of the Prometheus text format for the figures read at scrape time (actors,
//! stores, the process): each family with its HELP and TYPE lines, values as they are now.
//!
//! These are not pushed through the `metrics` facade because they are read, not counted:
//! the registry and the stores keep the running totals, and a facade counter can only hold
//! whole numbers (flush time is a fraction of seconds).

use std::fmt::Write as _;

/// Prometheus text, family by family.
#[derive(Default)]
pub(super) struct Exposition(String);

/// The type of a metric family.
#[derive(Clone, Copy)]
pub(super) enum Type {
    /// Only goes up (reset at restart).
    Counter,
    /// A value that may go up and down.
    Gauge,
}

impl Exposition {
    /// Starts the family `name`.
    pub(super) fn family(&mut self, name: &str, kind: Type, help: &str) -> &mut Self {
        let kind = match kind {
            Type::Counter => "counter",
            Type::Gauge => "gauge",
        };
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
        self
    }

    /// One sample of the current family.
    pub(super) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (index, (label, text)) in labels.iter().enumerate() {
                if index > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{label}=\"{}\"", escape(text));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
        self
    }

    /// The text.
    pub(super) fn finish(self) -> String {
        self.0
    }
}

/// Label values escape backslash, double quote and newline (the text format's rule).
fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['\\', '"', '\n']) {
        return text.into();
    }
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_help_type_and_escaped_labels() {
        let mut text = Exposition::default();
        text.family("ev_rental_things_total", Type::Counter, "Things.")
            .sample("ev_rental_things_total", &[("kind", "a\"b")], 3.0)
            .sample("ev_rental_things_total", &[], 0.5);
        assert_eq!(
            text.finish(),
            "# HELP ev_rental_things_total Things.\n# TYPE ev_rental_things_total counter\n\
             ev_rental_things_total{kind=\"a\\\"b\"} 3\nev_rental_things_total 0.5\n"
        );
    }
}
