//! Translation between wire messages and domain types; every validation message names its field.

use tonic::Status;

use crate::geo::{GeoPoint, GeoRect};
use crate::index::FeatureRef;
use crate::pb;
use crate::route::RouteSummary;

/// Returns the domain point, or `INVALID_ARGUMENT` naming `{prefix}{field}` and the value.
pub(crate) fn point_from_pb(point: &pb::Point, prefix: &str) -> Result<GeoPoint, Status> {
    GeoPoint::new(point.latitude, point.longitude)
        .map_err(|error| Status::invalid_argument(format!("{prefix}{error}")))
}

/// Returns the normalised rectangle, or `INVALID_ARGUMENT` naming `lo` or `hi`.
pub(crate) fn rect_from_pb(rect: &pb::Rectangle) -> Result<GeoRect, Status> {
    let corner = |point: &Option<pb::Point>, name: &str| match point {
        None => Err(Status::invalid_argument(format!("{name} is missing"))),
        Some(point) => point_from_pb(point, &format!("{name}.")),
    };
    let lo = corner(&rect.lo, "lo")?;
    let hi = corner(&rect.hi, "hi")?;
    Ok(GeoRect::from_corners(lo, hi))
}

impl From<GeoPoint> for pb::Point {
    fn from(point: GeoPoint) -> Self {
        pb::Point {
            latitude: point.latitude(),
            longitude: point.longitude(),
        }
    }
}

/// Returns the wire form of an indexed feature.
pub(crate) fn feature_to_pb(feature: FeatureRef<'_>) -> pb::Feature {
    pb::Feature {
        name: feature.name.to_owned(),
        location: Some(feature.location.into()),
    }
}

/// Returns the wire form of a route summary.
pub(crate) fn summary_to_pb(summary: RouteSummary) -> pb::RouteSummary {
    pb::RouteSummary {
        point_count: summary.point_count,
        feature_count: summary.feature_count,
        distance: summary.distance_metres,
        elapsed_time: summary.elapsed_seconds,
    }
}

/// Returns the status that ends a call because the server is shutting down.
pub(crate) fn shutting_down() -> Status {
    Status::unavailable("server is shutting down")
}

/// Returns the status that ends a call whose deadline passed.
pub(crate) fn deadline_exceeded() -> Status {
    Status::deadline_exceeded("deadline exceeded")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_rect(rect: pb::Rectangle, expected: Result<(i32, i32, i32, i32), &str>) {
        let got = rect_from_pb(&rect).map(|r| {
            (
                r.min().latitude(),
                r.min().longitude(),
                r.max().latitude(),
                r.max().longitude(),
            )
        });
        match expected {
            Ok(bounds) => assert_eq!(got.ok(), Some(bounds)),
            Err(message) => {
                let status = got.err().unwrap();
                assert_eq!(status.code(), tonic::Code::InvalidArgument);
                assert_eq!(status.message(), message);
            }
        }
    }

    fn p(latitude: i32, longitude: i32) -> Option<pb::Point> {
        Some(pb::Point {
            latitude,
            longitude,
        })
    }

    #[test]
    fn rectangles_are_validated_by_field() {
        check_rect(
            pb::Rectangle {
                lo: p(5, 6),
                hi: p(1, 2),
            },
            Ok((1, 2, 5, 6)),
        );
        check_rect(
            pb::Rectangle {
                lo: None,
                hi: p(1, 2),
            },
            Err("lo is missing"),
        );
        check_rect(
            pb::Rectangle {
                lo: p(1, 2),
                hi: None,
            },
            Err("hi is missing"),
        );
        check_rect(
            pb::Rectangle {
                lo: p(1, 2),
                hi: p(900_000_001, 0),
            },
            Err("hi.latitude 900000001 is out of range [-900000000, 900000000]"),
        );
        check_rect(
            pb::Rectangle {
                lo: p(0, -1_800_000_001),
                hi: p(1, 2),
            },
            Err("lo.longitude -1800000001 is out of range [-1800000000, 1800000000]"),
        );
    }
}
