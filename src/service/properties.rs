//! Property tests of request validation: random wire messages are accepted exactly when
//! every coordinate is in range and every required field is present, and each rejection
//! is `INVALID_ARGUMENT` naming the field (and the index in a stream) and its value.

use proptest::prelude::*;
use tonic::{Code, Status};

use super::fuzzing::{validate_note, validate_point, validate_rectangle, validate_route};
use crate::geo::{MAX_LATITUDE_E7, MAX_LONGITUDE_E7};
use crate::pb;

/// Returns coordinates around the limit `max`: anywhere, inside, and at and next to each
/// bound, which is where validation can be off by one.
fn coordinate(max: i32) -> impl Strategy<Value = i32> {
    prop_oneof![
        any::<i32>(),
        -max..=max,
        prop::sample::select(vec![-max - 1, -max, max, max + 1, 0, i32::MIN, i32::MAX]),
    ]
}

fn point() -> impl Strategy<Value = pb::Point> {
    (coordinate(MAX_LATITUDE_E7), coordinate(MAX_LONGITUDE_E7)).prop_map(|(latitude, longitude)| {
        pb::Point {
            latitude,
            longitude,
        }
    })
}

/// Returns the message naming the first field of `point` out of range, if any: latitude
/// is checked first.
fn point_problem(point: &pb::Point) -> Option<String> {
    if point.latitude.unsigned_abs() > MAX_LATITUDE_E7.unsigned_abs() {
        let latitude = point.latitude;
        return Some(format!(
            "latitude {latitude} is out of range [-900000000, 900000000]"
        ));
    }
    if point.longitude.unsigned_abs() > MAX_LONGITUDE_E7.unsigned_abs() {
        let longitude = point.longitude;
        return Some(format!(
            "longitude {longitude} is out of range [-1800000000, 1800000000]"
        ));
    }
    None
}

/// Asserts that `result` is accepted exactly when `problem` is `None`, and otherwise is
/// `INVALID_ARGUMENT` with exactly `problem` as its message.
fn check<T: std::fmt::Debug>(
    result: Result<T, Status>,
    problem: Option<String>,
) -> Result<(), TestCaseError> {
    match (result, problem) {
        (Ok(_), None) => Ok(()),
        (Ok(value), Some(problem)) => Err(TestCaseError::fail(format!(
            "accepted {value:?} despite {problem}"
        ))),
        (Err(status), problem) => {
            prop_assert_eq!(status.code(), Code::InvalidArgument);
            prop_assert_eq!(Some(status.message().to_owned()), problem);
            Ok(())
        }
    }
}

proptest! {
    #[test]
    fn a_point_is_accepted_exactly_when_in_range(point in point()) {
        let result = validate_point(&point);
        if let Ok(valid) = &result {
            prop_assert_eq!((valid.latitude(), valid.longitude()), (point.latitude, point.longitude));
        }
        check(result, point_problem(&point))?;
    }

    #[test]
    fn a_route_names_its_first_invalid_point(route in prop::collection::vec(point(), 0..20)) {
        let problem = route
            .iter()
            .enumerate()
            .find_map(|(i, p)| point_problem(p).map(|problem| format!("point {i}: {problem}")));
        let result = validate_route(&route);
        if let Ok(points) = &result {
            prop_assert_eq!(points.len(), route.len());
        }
        check(result, problem)?;
    }

    #[test]
    fn a_rectangle_is_accepted_exactly_with_both_corners_in_range(
        lo in prop::option::weighted(0.9, point()),
        hi in prop::option::weighted(0.9, point()),
    ) {
        let corner = |name: &str, corner: &Option<pb::Point>| match corner {
            None => Some(format!("{name} is missing")),
            Some(point) => point_problem(point).map(|problem| format!("{name}.{problem}")),
        };
        let problem = corner("lo", &lo).or_else(|| corner("hi", &hi));
        let result = validate_rectangle(&pb::Rectangle { lo, hi });
        if let (Ok(rect), Some(lo), Some(hi)) = (&result, lo, hi) {
            let (min, max) = (rect.min(), rect.max());
            prop_assert_eq!(min.latitude(), lo.latitude.min(hi.latitude));
            prop_assert_eq!(min.longitude(), lo.longitude.min(hi.longitude));
            prop_assert_eq!(max.latitude(), lo.latitude.max(hi.latitude));
            prop_assert_eq!(max.longitude(), lo.longitude.max(hi.longitude));
        }
        check(result, problem)?;
    }

    #[test]
    fn a_note_is_accepted_exactly_when_located_in_range_and_short_enough(
        location in prop::option::weighted(0.9, point()),
        message in "\\PC{0,40}",
        max_note_bytes in 1usize..48,
        index in any::<u64>(),
    ) {
        let length = message.len();
        let problem = match &location {
            None => Some(format!("note {index}: location is missing")),
            Some(point) => point_problem(point).map(|p| format!("note {index}: location.{p}")),
        }
        .or_else(|| {
            (length > max_note_bytes).then(|| {
                format!("note {index}: message is {length} bytes, the limit is {max_note_bytes}")
            })
        });
        let note = pb::RouteNote { location, message: message.clone() };
        let result = validate_note(note, index, max_note_bytes);
        if let Ok(note) = &result {
            prop_assert_eq!(&*note.message, message.as_str());
        }
        check(result, problem)?;
    }
}
