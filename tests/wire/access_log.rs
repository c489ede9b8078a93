//! Access logs: one info line per call under `routeguide::access` with the peer, method,
//! status code, duration and messages in and out; never a token, never a note's text.

use routeguide::config::ServerConfig;
use routeguide::pb;
use tonic::codec::CompressionEncoding;
use tonic::{Code, Request, Status};

use super::logs::logs;
use super::support::{TestServer, pb_point};

/// A token each call carries; no log line may contain it.
const TOKEN: &str = "s3cr3t-t0ken-never-logged";

/// Returns `message` carrying `authorization: Bearer TOKEN`.
fn with_token<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {TOKEN}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

/// What a client saw of one call: its code and the messages it sent and received.
type Outcome = (Code, u64, u64);

/// Makes one call of `rpc` as `agent` (a valid one unless `invalid`) and returns what the
/// client saw of it.
async fn call(server: &TestServer, agent: &str, rpc: &str, gzip: bool, invalid: bool) -> Outcome {
    let mut client = server.client_as(agent).await;
    if gzip {
        client = client
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Gzip);
    }
    let point = if invalid {
        pb_point(900_000_001, 0)
    } else {
        pb_point(409_146_138, -746_188_906)
    };
    let (mut sent, mut received) = (1, 0);
    let result: Result<(), Status> = async {
        match rpc {
            "GetFeature" => {
                client.get_feature(with_token(point)).await?;
                received += 1;
            }
            "ListFeatures" => {
                let rectangle = pb::Rectangle {
                    lo: Some(pb_point(400_000_000, -750_000_000)),
                    hi: Some(point),
                };
                let request = with_token(rectangle);
                let mut stream = client.list_features(request).await?.into_inner();
                while stream.message().await?.is_some() {
                    received += 1;
                }
            }
            "RecordRoute" => {
                sent = 2;
                let points = futures::stream::iter(vec![point, point]);
                client.record_route(with_token(points)).await?;
                received += 1;
            }
            "RouteChat" => {
                let note = pb::RouteNote {
                    location: Some(point),
                    message: format!("the full text of a note from {agent}"),
                };
                let notes = futures::stream::iter(vec![note]);
                let mut replies = client.route_chat(with_token(notes)).await?.into_inner();
                while replies.message().await?.is_some() {
                    received += 1;
                }
            }
            other => unreachable!("no RPC {other}"),
        }
        Ok(())
    }
    .await;
    let code = result.map_or_else(|status| status.code(), |()| Code::Ok);
    (code, sent, received)
}

const RPCS: [&str; 4] = ["GetFeature", "ListFeatures", "RecordRoute", "RouteChat"];

fn access_config(access_log: bool) -> ServerConfig {
    ServerConfig {
        access_log,
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn every_call_logs_one_access_line_with_its_outcome() {
    let server = TestServer::start_with(routeguide::db::builtin(), access_config(true)).await;
    for rpc in RPCS {
        for gzip in [false, true] {
            let agent = format!("access-{rpc}-gzip-{gzip}");
            let (code, messages_in, messages_out) = call(&server, &agent, rpc, gzip, false).await;
            assert_eq!(code, Code::Ok);
            // Streams send several messages, so counting calls would not do.
            assert!(rpc != "ListFeatures" || messages_out > 1, "{messages_out}");
            assert!(rpc != "RecordRoute" || messages_in > 1, "{messages_in}");
            let line = logs().wait_for(&["routeguide::access", &agent]).await;
            for fragment in [
                " INFO ".to_owned(),
                "peer=127.0.0.1:".to_owned(),
                format!("method=\"/routeguide.RouteGuide/{rpc}\""),
                "code=\"OK\"".to_owned(),
                "duration_ms=".to_owned(),
                format!("messages_in={messages_in} "),
                format!("messages_out={messages_out} "),
            ] {
                assert!(line.contains(&fragment), "no {fragment:?} in {line}");
            }
            assert_eq!(logs().matching(&["routeguide::access", &agent]).len(), 1);
        }
    }
    let agent = "access-invalid-argument";
    let outcome = call(&server, agent, "GetFeature", true, true).await;
    assert_eq!(outcome, (Code::InvalidArgument, 1, 0));
    let line = logs().wait_for(&["routeguide::access", agent]).await;
    assert!(line.contains("code=\"INVALID_ARGUMENT\""), "{line}");
    assert!(line.contains("messages_in=1 messages_out=0 "), "{line}");

    // Every call carried a token and RouteChat a note: neither reached the log at info.
    assert_eq!(logs().matching(&[TOKEN]), Vec::<String>::new());
    let notes = logs().matching(&["the full text of a note from access-"]);
    assert!(
        notes.iter().all(|line| !line.contains(" INFO ")),
        "{notes:#?}"
    );
}

#[tokio::test]
async fn without_access_log_no_access_line_is_written() {
    let server = TestServer::start_with(routeguide::db::builtin(), access_config(false)).await;
    for rpc in RPCS {
        let agent = format!("no-access-{rpc}");
        assert_eq!(call(&server, &agent, rpc, false, false).await.0, Code::Ok);
        // The line would be written before the response's status reached the client.
        assert_eq!(
            logs().matching(&["routeguide::access", &agent]),
            Vec::<String>::new()
        );
    }
}
