//! Bearer tokens over the wire: every RouteGuide call, compressed or not, needs a token of
//! the file; health and reflection stay open; `reflection: false` removes reflection; the
//! handler's log names the caller and no log line holds a token.

use std::path::Path;

use futures::StreamExt;
use routeguide::auth::{Authenticator, TokenSet};
use routeguide::config::ServerConfig;
use routeguide::pb;
use routeguide::server::Security;
use tonic::{Code, Request, Status};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

use super::every_rpc::{self, RPCS};
use super::logs::logs;
use super::support::{TestServer, pb_point};

/// The token file of these tests: the second token is `wire-token-beta`.
const TOKENS: &str = "# test tokens\nwire-token-alpha\n\nwire-token-beta\n";

fn security() -> Security {
    let tokens = TokenSet::parse(Path::new("tokens.txt"), TOKENS).unwrap();
    Security {
        tokens: Some(Authenticator::new(tokens)),
        ..Security::default()
    }
}

/// Makes one call of `rpc` as `agent` with `authorization`, if any.
async fn call(
    server: &TestServer,
    agent: &str,
    rpc: &str,
    gzip: bool,
    authorization: Option<&str>,
) -> Result<(), Status> {
    let metadata: Vec<(&'static str, &str)> = authorization
        .map(|value| ("authorization", value))
        .into_iter()
        .collect();
    every_rpc::call(server, agent, rpc, gzip, &metadata).await
}

#[tokio::test]
async fn every_routeguide_call_needs_a_token_of_the_file() {
    let server = TestServer::start_secured(ServerConfig::default(), security()).await;
    let refused: [(Option<&str>, &str); 5] = [
        (None, "missing bearer token"),
        (Some("Bearer wire-token-gamma"), "invalid bearer token"),
        (Some("Bearer wire-token-alph"), "invalid bearer token"),
        (Some("Basic wire-token-alpha"), "not `Bearer TOKEN`"),
        (Some("wire-token-alpha"), "not `Bearer TOKEN`"),
    ];
    for rpc in RPCS {
        for gzip in [false, true] {
            for (authorization, message) in refused {
                let agent = format!("auth-refused-{rpc}-{gzip}");
                let status = call(&server, &agent, rpc, gzip, authorization)
                    .await
                    .expect_err("a call without a valid token fails");
                assert_eq!(status.code(), Code::Unauthenticated, "{agent}: {status:?}");
                assert!(status.message().contains(message), "{agent}: {status:?}");
                // Refused before any handler ran: no handler logged the call.
                assert_eq!(logs().matching(&[&agent]), Vec::<String>::new());
            }
            let agent = format!("auth-accepted-{rpc}-{gzip}");
            let accepted = call(&server, &agent, rpc, gzip, Some("bearer  wire-token-beta")).await;
            assert_eq!(accepted.map_err(|s| s.code()), Ok(()), "{agent}");
            // The handler's log line names the caller the layer left in the extensions.
            let line = logs()
                .wait_for(&[&format!("rpc=\"{rpc}\""), &agent, "call ok"])
                .await;
            assert!(line.contains("caller=token-2"), "{line}");
        }
    }
    let leaked = logs().matching(&["wire-token-"]);
    assert_eq!(leaked, Vec::<String>::new(), "a token reached the log");
    let refusals = logs().matching(&["call unauthenticated", "invalid bearer token"]);
    assert!(!refusals.is_empty(), "refused calls are logged");
}

/// Returns the first reflection response to a `list_services` request, or its status.
async fn list_services(server: &TestServer) -> Result<ServerReflectionResponse, Status> {
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let list = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(futures::stream::iter(vec![list]))
        .await?
        .into_inner();
    match responses.next().await {
        Some(response) => response,
        None => Err(Status::internal("no reflection response")),
    }
}

#[tokio::test]
async fn health_and_reflection_stay_open_without_a_token() {
    let server = TestServer::start_secured(ServerConfig::default(), security()).await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "routeguide.RouteGuide"] {
        let check = HealthCheckRequest {
            service: service.into(),
        };
        assert!(health.check(check).await.is_ok(), "health {service:?}");
    }
    assert!(list_services(&server).await.is_ok());
    // Any other path needs the token too, so a caller learns nothing by guessing.
    let mut unknown = tonic::client::Grpc::new(server.channel().await);
    unknown.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/no.such.Service/Method");
    let codec = tonic_prost::ProstCodec::<pb::Point, pb::Point>::default();
    let status = unknown
        .unary(Request::new(pb_point(0, 0)), path, codec)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}

#[tokio::test]
async fn without_reflection_there_is_no_reflection_service() {
    let config = ServerConfig {
        reflection: false,
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(routeguide::db::builtin(), config).await;
    let status = list_services(&server).await.unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    let plain = TestServer::start().await;
    assert!(list_services(&plain).await.is_ok());
}
