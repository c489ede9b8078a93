//! The load generator drives every RPC against a real server, and the linear-scan baseline
//! answers ListFeatures exactly like the index.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use routeguide::config::ServerConfig;
use routeguide::loadgen::{self, LoadConfig, RectShape, Rpc, Workload};
use routeguide::pb;
use routeguide::service::RectangleSearch;
use routeguide::synthetic::{SyntheticSpec, default_bbox, write_database};

use super::support::TestServer;

fn synthetic_index(count: u64, duplicates: f64) -> routeguide::index::FeatureIndex {
    let spec = SyntheticSpec {
        count,
        seed: 9,
        bbox: default_bbox(),
        duplicates,
    };
    let mut json = Vec::new();
    write_database(&spec, &mut json, |_| {}).unwrap();
    routeguide::db::parse_str(std::str::from_utf8(&json).unwrap()).unwrap()
}

fn config(server: &TestServer) -> LoadConfig {
    LoadConfig {
        address: server.addr.to_string(),
        concurrency: 4,
        connections: 2,
        duration: Duration::from_secs(1),
        warmup: Duration::ZERO,
        seed: 1,
        server_pid: Some(std::process::id()),
        tls: None,
        token: None,
    }
}

/// Runs GetFeature calls at the built-in database's features with `config`, each call
/// with `timeout`.
async fn run_get_feature(
    config: &LoadConfig,
    timeout: Duration,
) -> Result<loadgen::BenchReport, loadgen::LoadgenError> {
    run_get_feature_counting(config, timeout, Arc::new(AtomicU64::new(0))).await
}

/// Like [`run_get_feature`], counting every finished call in `progress` as it goes.
async fn run_get_feature_counting(
    config: &LoadConfig,
    timeout: Duration,
    progress: Arc<AtomicU64>,
) -> Result<loadgen::BenchReport, loadgen::LoadgenError> {
    let index = routeguide::db::builtin();
    let workload = Workload::new(Rpc::GetFeature, &index, 10, 1, RectShape::World, 1, timeout);
    loadgen::run(config, Arc::new(workload), progress).await
}

#[tokio::test]
async fn every_rpc_runs_without_errors_and_counts_messages() {
    let index = synthetic_index(2_000, 0.05);
    let cases = [
        (Rpc::GetFeature, RectShape::Square(0.01)),
        (Rpc::ListFeatures, RectShape::Square(0.05)),
        (Rpc::ListFeatures, RectShape::World),
        (Rpc::RecordRoute, RectShape::Square(0.01)),
        (Rpc::RouteChat, RectShape::Square(0.01)),
    ];
    let server = TestServer::start_with(index.clone(), ServerConfig::default()).await;
    for (rpc, rect) in cases {
        let workload = Workload::new(rpc, &index, 1000, 3, rect, 10, Duration::from_secs(10));
        let progress = Arc::new(AtomicU64::new(0));
        let report = loadgen::run(&config(&server), Arc::new(workload), Arc::clone(&progress))
            .await
            .unwrap();
        let t = &report.throughput;
        assert!(t.errors.is_empty(), "{rpc:?}: {:?}", t.errors);
        assert!(t.received > 0, "{rpc:?} received nothing");
        assert!(progress.load(Ordering::Relaxed) >= t.calls);
        assert!(report.bench_cpu.is_some() && report.server_cpu.is_some());
        // Without warm-up every recorded call moved all its messages inside the window;
        // the call cancelled at the end moved some more.
        match (rpc, rect) {
            (Rpc::ListFeatures, RectShape::World) => assert!(t.received >= t.calls * 2_000),
            (Rpc::ListFeatures, _) => assert!(t.received >= t.calls, "a real point is inside"),
            (Rpc::RecordRoute | Rpc::RouteChat, _) => {
                assert!(t.sent >= t.calls * 10, "{rpc:?} {} {}", t.sent, t.calls)
            }
            (Rpc::GetFeature, _) => assert!(t.sent >= t.received && t.received >= t.calls),
        }
        assert!(t.latency_ms.p50 <= t.latency_ms.p99 && t.latency_ms.p99 <= t.latency_ms.max);
    }
}

#[tokio::test]
async fn unreachable_address_or_https_without_tls_settings_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap().to_string();
    drop(listener);
    // An https:// address without TLS settings is refused before connecting, rather than
    // sent as plain text.
    for (address, says) in [
        (closed.clone(), ""),
        (format!("https://{closed}"), "needs TLS settings"),
    ] {
        let config = LoadConfig {
            address: address.clone(),
            concurrency: 1,
            connections: 1,
            duration: Duration::from_millis(10),
            warmup: Duration::ZERO,
            seed: 1,
            server_pid: None,
            tls: None,
            token: None,
        };
        match run_get_feature(&config, Duration::from_secs(1)).await {
            Err(loadgen::LoadgenError::Connect { message, .. }) => {
                assert!(message.contains(says), "{address}: {message}");
            }
            other => panic!("{address}: expected a connect error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn linear_scan_baseline_streams_the_same_features_in_the_same_order() {
    let index = synthetic_index(5_000, 0.2);
    let indexed = TestServer::start_with(index.clone(), ServerConfig::default()).await;
    let scanning = TestServer::start_with(
        index,
        ServerConfig {
            rectangle_search: RectangleSearch::LinearScan,
            ..ServerConfig::default()
        },
    )
    .await;
    let rectangles = [
        (400_000_000, -746_100_000, 412_200_000, -733_900_000),
        (405_000_000, -740_000_000, 406_000_000, -741_000_000),
        (410_000_000, -745_000_000, 410_000_000, -735_000_000),
    ];
    for (lat_lo, lon_lo, lat_hi, lon_hi) in rectangles {
        let rectangle = pb::Rectangle {
            lo: Some(pb::Point {
                latitude: lat_lo,
                longitude: lon_lo,
            }),
            hi: Some(pb::Point {
                latitude: lat_hi,
                longitude: lon_hi,
            }),
        };
        let mut results = Vec::new();
        for server in [&indexed, &scanning] {
            let mut client = server.client().await;
            let mut stream = client.list_features(rectangle).await.unwrap().into_inner();
            let mut features = Vec::new();
            while let Some(feature) = stream.message().await.unwrap() {
                features.push(feature);
            }
            results.push(features);
        }
        assert_eq!(results[0], results[1], "rectangle {rectangle:?}");
    }
}

#[test]
fn a_server_that_goes_away_ends_the_run_on_time_with_its_failures_counted() {
    // Once the server has gone, every call fails at once without waiting on anything, so
    // a worker that kept calling would never yield its thread. The run gets a runtime and
    // a thread of its own, so that such a worker fails this test instead of hanging it.
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let report =
            runtime.block_on(async {
                let mut server = TestServer::start_with(
                    routeguide::db::builtin(),
                    ServerConfig {
                        grace: Duration::from_millis(100),
                        ..ServerConfig::default()
                    },
                )
                .await;
                let config = LoadConfig {
                    duration: Duration::from_secs(2),
                    server_pid: None,
                    tls: None,
                    token: None,
                    ..config(&server)
                };
                let progress = Arc::new(AtomicU64::new(0));
                let run = tokio::spawn({
                    let progress = Arc::clone(&progress);
                    async move {
                        run_get_feature_counting(&config, Duration::from_secs(10), progress).await
                    }
                });
                // The server goes away once a call has finished, which it did while serving.
                let first_call = async {
                    while progress.load(Ordering::Relaxed) == 0 {
                        // The counter has no notification, so it is polled until it moves.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                };
                tokio::time::timeout(Duration::from_secs(20), first_call)
                    .await
                    .expect("no call finished");
                server.shutdown().await.unwrap().unwrap();
                run.await.unwrap().unwrap()
            });
        let _ = done.send(report);
    });
    let report = outcome
        .recv_timeout(Duration::from_secs(30))
        .expect("the run did not end after the server went away");
    let t = &report.throughput;
    assert!(t.calls > 0, "no call succeeded before the shutdown");
    assert!(!t.errors.is_empty(), "no failed call was counted");
}

#[tokio::test]
async fn calls_to_a_server_that_never_answers_fail_with_deadline_exceeded() {
    // Accepts connections and reads nothing: no response ever comes back, and the
    // server cannot enforce the deadline, so the load generator must.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let config = LoadConfig {
        address,
        concurrency: 2,
        connections: 1,
        duration: Duration::from_millis(500),
        warmup: Duration::ZERO,
        seed: 1,
        server_pid: None,
        tls: None,
        token: None,
    };
    let report = run_get_feature(&config, Duration::from_millis(100))
        .await
        .unwrap();
    silent.abort();
    let t = &report.throughput;
    assert_eq!(t.calls, 0);
    assert!(
        t.errors.keys().all(|code| code == "DeadlineExceeded") && !t.errors.is_empty(),
        "{:?}",
        t.errors
    );
}

#[tokio::test]
async fn a_path_in_the_address_is_not_put_before_the_method() {
    let server = TestServer::start().await;
    let config = LoadConfig {
        address: format!("http://{}/some/prefix", server.addr),
        duration: Duration::from_millis(300),
        ..config(&server)
    };
    let report = run_get_feature(&config, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(report.throughput.calls > 0);
    assert!(
        report.throughput.errors.is_empty(),
        "{:?}",
        report.throughput.errors
    );
}
