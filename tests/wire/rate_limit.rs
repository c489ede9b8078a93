//! `--rate-limit`: a client IP over its budget gets `RESOURCE_EXHAUSTED` on every RPC,
//! compressed or not, while another address and every health check are served.

use std::time::Duration;

use routeguide::config::{RateLimit, ServerConfig};
use routeguide::pb;
use tonic::codec::CompressionEncoding;
use tonic::{Code, Status};

use super::support::{TestServer, channel_over, pb_point};

type Client = pb::route_guide_client::RouteGuideClient<tonic::transport::Channel>;

/// Makes one valid call of `rpc` and returns its code.
async fn call(client: &mut Client, rpc: &str) -> Code {
    let point = pb_point(409_146_138, -746_188_906);
    let result: Result<(), Status> = async {
        match rpc {
            "GetFeature" => {
                client.get_feature(point).await?;
            }
            "ListFeatures" => {
                let rectangle = pb::Rectangle {
                    lo: Some(point),
                    hi: Some(point),
                };
                let mut stream = client.list_features(rectangle).await?.into_inner();
                while stream.message().await?.is_some() {}
            }
            "RecordRoute" => {
                client.record_route(futures::stream::iter([point])).await?;
            }
            "RouteChat" => {
                let note = pb::RouteNote {
                    location: Some(point),
                    message: "hello".to_owned(),
                };
                let mut replies = client
                    .route_chat(futures::stream::iter([note]))
                    .await?
                    .into_inner();
                while replies.message().await?.is_some() {}
            }
            other => unreachable!("no RPC {other}"),
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Code::Ok,
        Err(status) => {
            assert!(
                status.code() != Code::ResourceExhausted
                    || status.message().starts_with("rate limit exceeded: "),
                "{status:?}"
            );
            status.code()
        }
    }
}

/// Returns a client whose connection comes from `local` (any address of 127.0.0.0/8).
async fn client_from(server: &TestServer, local: [u8; 4], gzip: bool) -> Client {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((local, 0).into()).unwrap();
    let tcp = socket.connect(server.addr).await.unwrap();
    let client = Client::new(channel_over(tcp).await);
    if gzip {
        client
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Gzip)
    } else {
        client
    }
}

const RPCS: [&str; 4] = ["GetFeature", "ListFeatures", "RecordRoute", "RouteChat"];

#[tokio::test]
async fn a_client_over_its_budget_is_refused_while_others_are_served() {
    // Four calls at once, then one a minute: the test never earns a fifth.
    let config = ServerConfig {
        rate_limit: Some(RateLimit {
            period: Duration::from_secs(60),
            burst: 4,
        }),
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(routeguide::db::builtin(), config).await;
    let mut plain = client_from(&server, [127, 0, 0, 1], false).await;
    let mut gzip = client_from(&server, [127, 0, 0, 1], true).await;
    for rpc in RPCS {
        assert_eq!(call(&mut plain, rpc).await, Code::Ok, "{rpc}");
    }
    for rpc in RPCS {
        for client in [&mut plain, &mut gzip] {
            assert_eq!(call(client, rpc).await, Code::ResourceExhausted, "{rpc}");
        }
    }
    // Health checks from the same address are never limited.
    let channel = channel_over(tokio::net::TcpStream::connect(server.addr).await.unwrap()).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for _ in 0..8 {
        let request = tonic_health::pb::HealthCheckRequest::default();
        health.check(request).await.unwrap();
    }
    // Another address has its own budget.
    let mut other = client_from(&server, [127, 0, 0, 2], false).await;
    for rpc in RPCS {
        assert_eq!(
            call(&mut other, rpc).await,
            Code::Ok,
            "{rpc} from 127.0.0.2"
        );
    }
    let text = server.scrape().await;
    assert!(
        text.contains("\nrouteguide_rate_limited_total 8\n"),
        "{text}"
    );
    for rpc in RPCS {
        let series = format!(
            "routeguide_calls_total{{service=\"routeguide.RouteGuide\",method=\"{rpc}\",code=\"RESOURCE_EXHAUSTED\"}} 2\n"
        );
        assert!(text.contains(&series), "no {series} in {text}");
    }
}

#[tokio::test]
async fn without_a_rate_limit_no_call_is_refused() {
    let server = TestServer::start().await;
    let mut client = client_from(&server, [127, 0, 0, 1], false).await;
    for _ in 0..10 {
        for rpc in RPCS {
            assert_eq!(call(&mut client, rpc).await, Code::Ok, "{rpc}");
        }
    }
}
