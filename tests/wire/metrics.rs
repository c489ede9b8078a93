//! Prometheus metrics: a scrape of `/metrics` after a known mix of calls (all four RPCs,
//! compressed or not, some failing) counts each exactly.

use routeguide::pb;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;
use tonic::{Code, Status};

use super::support::{TestServer, pb_point};

type Client = pb::route_guide_client::RouteGuideClient<Channel>;

/// What the clients saw of one method's calls: codes, and messages sent and received.
#[derive(Debug, Default)]
struct Tally {
    codes: Vec<Code>,
    sent: u64,
    received: u64,
}

impl Tally {
    fn count(&self, code: Code) -> u64 {
        self.codes.iter().filter(|&&c| c == code).count() as u64
    }
}

/// Returns a client on a new connection, sending gzip when `gzip`.
async fn client(server: &TestServer, gzip: bool) -> Client {
    let client = server.client().await;
    if gzip {
        client
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Gzip)
    } else {
        client
    }
}

fn code_of<T>(result: &Result<T, Status>) -> Code {
    result.as_ref().map_or_else(Status::code, |_| Code::Ok)
}

async fn get_feature(server: &TestServer, gzip: bool, point: pb::Point, tally: &mut Tally) {
    let result = client(server, gzip).await.get_feature(point).await;
    tally.sent += 1;
    tally.received += u64::from(result.is_ok());
    tally.codes.push(code_of(&result));
}

async fn list_features(server: &TestServer, gzip: bool, rect: pb::Rectangle, tally: &mut Tally) {
    tally.sent += 1;
    let result = async {
        let mut stream = client(server, gzip).await.list_features(rect).await?;
        while stream.get_mut().message().await?.is_some() {
            tally.received += 1;
        }
        Ok::<_, Status>(())
    }
    .await;
    tally.codes.push(code_of(&result));
}

async fn record_route(server: &TestServer, gzip: bool, points: Vec<pb::Point>, tally: &mut Tally) {
    tally.sent += points.len() as u64;
    let result = client(server, gzip)
        .await
        .record_route(futures::stream::iter(points))
        .await;
    tally.received += u64::from(result.is_ok());
    tally.codes.push(code_of(&result));
}

async fn route_chat(server: &TestServer, gzip: bool, notes: Vec<pb::RouteNote>, tally: &mut Tally) {
    tally.sent += notes.len() as u64;
    let result = async {
        let mut client = client(server, gzip).await;
        let mut replies = client.route_chat(futures::stream::iter(notes)).await?;
        while replies.get_mut().message().await?.is_some() {
            tally.received += 1;
        }
        Ok::<_, Status>(())
    }
    .await;
    tally.codes.push(code_of(&result));
}

fn note(point: Option<pb::Point>, message: &str) -> pb::RouteNote {
    pb::RouteNote {
        location: point,
        message: message.to_owned(),
    }
}

/// Returns the value of the sample `series` (name and labels exactly as exposed).
fn sample(text: &str, series: &str) -> f64 {
    let prefix = format!("{series} ");
    let line = text
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no sample {series} in\n{text}"));
    line[prefix.len()..].parse().unwrap()
}

#[tokio::test]
async fn a_scrape_counts_a_known_mix_of_calls_exactly() {
    let server = TestServer::start().await;
    let known = pb_point(409_146_138, -746_188_906);
    let out_of_range = pb_point(900_000_001, 0);
    let tutorial = pb::Rectangle {
        lo: Some(pb_point(400_000_000, -750_000_000)),
        hi: Some(pb_point(420_000_000, -730_000_000)),
    };
    let (mut get, mut list, mut record, mut chat) = Default::default();

    get_feature(&server, false, known, &mut get).await;
    get_feature(&server, false, pb_point(1, 1), &mut get).await;
    get_feature(&server, true, known, &mut get).await;
    get_feature(&server, true, out_of_range, &mut get).await;

    list_features(&server, false, tutorial, &mut list).await;
    list_features(&server, true, tutorial, &mut list).await;
    let missing_lo = pb::Rectangle {
        lo: None,
        ..tutorial
    };
    list_features(&server, true, missing_lo, &mut list).await;

    record_route(
        &server,
        true,
        vec![known, known, pb_point(1, 1)],
        &mut record,
    )
    .await;
    // The invalid point comes last, so the server has read every point when it fails.
    record_route(&server, false, vec![known, out_of_range], &mut record).await;

    let here = Some(pb_point(1, 2));
    let notes = vec![note(here, "first"), note(here, "second")];
    route_chat(&server, false, notes, &mut chat).await;
    let notes = vec![note(here, "third"), note(None, "no location")];
    route_chat(&server, true, notes, &mut chat).await;

    let text = server.scrape().await;
    let rpcs = [
        ("GetFeature", &get),
        ("ListFeatures", &list),
        ("RecordRoute", &record),
        ("RouteChat", &chat),
    ];
    let expected_codes = [(3, 1), (2, 1), (1, 1), (1, 1)];
    for ((rpc, tally), (ok, invalid)) in rpcs.into_iter().zip(expected_codes) {
        assert_eq!(
            (tally.count(Code::Ok), tally.count(Code::InvalidArgument)),
            (ok, invalid),
            "{rpc}: {tally:?}"
        );
        let labels = format!("service=\"routeguide.RouteGuide\",method=\"{rpc}\"");
        for (code, name) in [
            (Code::Ok, "OK"),
            (Code::InvalidArgument, "INVALID_ARGUMENT"),
        ] {
            let series = format!("routeguide_calls_total{{{labels},code=\"{name}\"}}");
            assert_eq!(sample(&text, &series), tally.count(code) as f64, "{series}");
        }
        let calls = tally.codes.len() as f64;
        for (series, value) in [
            ("routeguide_call_duration_seconds_count", calls),
            ("routeguide_calls_in_flight", 0.0),
            ("routeguide_messages_received_total", tally.sent as f64),
            ("routeguide_messages_sent_total", tally.received as f64),
        ] {
            let series = format!("{series}{{{labels}}}");
            assert_eq!(sample(&text, &series), value, "{series}");
        }
    }
    // The tutorial rectangle holds 100 features, sent twice; three notes had a location.
    assert_eq!(list.received, 200);
    assert_eq!(sample(&text, "routeguide_notes_stored_total"), 3.0);
    // No other code was counted.
    let codes: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("routeguide_calls_total{"))
        .collect();
    assert_eq!(codes.len(), 8, "{codes:#?}");
}

#[tokio::test]
async fn a_call_that_never_reaches_a_handler_is_counted_under_its_code() {
    let server = TestServer::start().await;
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/no.such.Service/Call");
    let result: Result<tonic::Response<pb::Feature>, Status> = grpc
        .unary(
            tonic::Request::new(pb_point(1, 1)),
            path,
            tonic_prost::ProstCodec::default(),
        )
        .await;
    assert_eq!(result.unwrap_err().code(), Code::Unimplemented);
    let text = server.scrape().await;
    let series =
        "routeguide_calls_total{service=\"unknown\",method=\"unknown\",code=\"UNIMPLEMENTED\"}";
    assert_eq!(sample(&text, series), 1.0);
}
