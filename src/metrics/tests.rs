//! Unit tests of the metric names and the method table.

use super::*;

#[test]
fn every_metric_is_exposed_with_its_routeguide_name() {
    let metrics = Metrics::new();
    metrics.database_loaded(100, 0.25);
    metrics.note_stored();
    let get_feature = MethodId::of("/routeguide.RouteGuide/GetFeature");
    metrics.call_ended(get_feature, Code::Ok);
    let text = metrics.render();
    for line in [
        "routeguide_build_info{version=\"0.1.0\"} 1",
        "routeguide_calls_total{service=\"routeguide.RouteGuide\",method=\"GetFeature\",code=\"OK\"} 1",
        "# TYPE routeguide_call_duration_seconds histogram",
        "routeguide_calls_in_flight{service=\"routeguide.RouteGuide\",method=\"RouteChat\"} 0",
        "routeguide_messages_received_total{service=\"unknown\",method=\"unknown\"} 0",
        "routeguide_messages_sent_total{service=\"grpc.health.v1.Health\",method=\"Watch\"} 0",
        "routeguide_notes_stored_total 1",
        "routeguide_features_loaded 100",
        "routeguide_features_load_seconds 0.25",
        "routeguide_connections_open 0",
        "routeguide_connections_rejected_total 0",
        "routeguide_handshake_timeouts_total 0",
        "routeguide_stream_idle_timeouts_total 0",
        "routeguide_rate_limited_total 0",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn unknown_paths_share_one_series() {
    let metrics = Metrics::new();
    for path in ["/x.Y/Z", "/routeguide.RouteGuide/Nope", ""] {
        assert_eq!(
            metrics.method(MethodId::of(path)).labels,
            MethodLabels {
                service: UNKNOWN,
                method: UNKNOWN
            }
        );
    }
    assert_eq!(
        metrics
            .method(MethodId::of("/grpc.health.v1.Health/Check"))
            .labels
            .method,
        "Check"
    );
}
