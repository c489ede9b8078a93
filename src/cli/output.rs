//! Printing messages to stdout: human-readable lines, or one proto3 JSON object per line.

use std::io::Write;

use routeguide::geo::GeoPoint;
use routeguide::pb;

/// Prints results in the format the user chose.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// One JSON object per line instead of sentences.
    pub json: bool,
}

impl Printer {
    /// Prints a feature that exists (ListFeatures streams only those): `Feature "NAME" at
    /// LAT,LON`, or `Unnamed feature at LAT,LON` when its name is empty.
    pub fn feature(&self, feature: &pb::Feature) -> anyhow::Result<()> {
        self.lookup(feature, true)
    }

    /// Prints GetFeature's answer. Its empty name means "no feature here" (printed `No
    /// feature at LAT,LON`, as the tutorial's client does) unless `exists` says that an
    /// unnamed feature is there.
    pub fn lookup(&self, feature: &pb::Feature, exists: bool) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(feature);
        }
        let at = describe(feature.location.as_ref());
        if !feature.name.is_empty() {
            self.line(&format!("Feature {:?} at {at}", feature.name))
        } else if exists {
            self.line(&format!("Unnamed feature at {at}"))
        } else {
            self.line(&format!("No feature at {at}"))
        }
    }

    /// Prints a route summary.
    pub fn summary(&self, summary: &pb::RouteSummary) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(summary);
        }
        self.line(&format!(
            "Finished trip with {} points. Passed {} features. Travelled {} meters. It took {} seconds.",
            summary.point_count, summary.feature_count, summary.distance, summary.elapsed_time
        ))
    }

    /// Prints a note received from the server.
    pub fn note(&self, note: &pb::RouteNote) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(note);
        }
        self.line(&format!(
            "Got message {:?} at {}",
            note.message,
            describe(note.location.as_ref())
        ))
    }

    /// Prints a section heading in human mode only, so JSON output stays one object per line.
    pub fn heading(&self, text: &str) -> anyhow::Result<()> {
        if self.json {
            Ok(())
        } else {
            self.line(&format!("-------------- {text} --------------"))
        }
    }

    fn print_json(&self, message: &impl serde::Serialize) -> anyhow::Result<()> {
        self.line(&serde_json::to_string(message)?)
    }

    fn line(&self, text: &str) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{text}")?;
        Ok(())
    }
}

/// Returns `LAT,LON` in degrees, or the raw E7 values when they are out of range.
fn describe(point: Option<&pb::Point>) -> String {
    match point {
        None => "no location".to_owned(),
        Some(p) => match GeoPoint::new(p.latitude, p.longitude) {
            Ok(point) => point.to_string(),
            Err(_) => format!("E7 {},{}", p.latitude, p.longitude),
        },
    }
}
