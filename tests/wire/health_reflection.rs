//! Health and reflection over the wire, as grpcurl and load balancers use them.

use std::time::Duration;

use futures::{FutureExt, StreamExt};
use prost::Message;
use routeguide::config::ServerConfig;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse, health_client::HealthClient};

use super::support::TestServer;

#[tokio::test]
async fn health_reports_serving_for_the_server_and_the_service() {
    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "routeguide.RouteGuide"] {
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            response.status,
            ServingStatus::Serving as i32,
            "{service:?}"
        );
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "nope.Nope".into(),
        })
        .await;
    assert_eq!(unknown.unwrap_err().code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn reflection_v1_lists_and_describes_the_service() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let server = TestServer::start().await;
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let requests = vec![
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "routeguide.RouteGuide".into(),
            )),
        },
    ];
    let mut responses = reflection
        .server_reflection_info(futures::stream::iter(requests))
        .await
        .unwrap()
        .into_inner();

    let listed = responses.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
        panic!("expected a service list, got {listed:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "routeguide.RouteGuide",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }

    let described = responses.next().await.unwrap().unwrap();
    let Some(MessageResponse::FileDescriptorResponse(files)) = described.message_response else {
        panic!("expected a file descriptor, got {described:?}");
    };
    let file = prost_types::FileDescriptorProto::decode(files.file_descriptor_proto[0].as_slice())
        .unwrap();
    assert_eq!(file.package(), "routeguide");
    let service = &file.service[0];
    let methods: Vec<_> = service.method.iter().map(|m| m.name()).collect();
    assert_eq!(
        methods,
        ["GetFeature", "ListFeatures", "RecordRoute", "RouteChat"]
    );
    let options = file.options.unwrap();
    assert_eq!(options.java_package(), "io.grpc.examples.routeguide");
    assert_eq!(options.objc_class_prefix(), "RTG");
}

#[tokio::test]
async fn reflection_v1alpha_lists_the_service() {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

    let server = TestServer::start().await;
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(futures::stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let listed = responses.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
        panic!("expected a service list, got {listed:?}");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "routeguide.RouteGuide")
    );
}

/// Returns the next status a health `Watch` sends, failing on an end or an error.
async fn next_status(watch: &mut tonic::Streaming<HealthCheckResponse>) -> i32 {
    watch
        .message()
        .await
        .unwrap()
        .expect("the watch ended")
        .status
}

#[tokio::test]
async fn watching_an_unknown_service_sends_service_unknown_and_stays_open() {
    let config = ServerConfig {
        grace: Duration::from_millis(100),
        ..ServerConfig::default()
    };
    let mut server = TestServer::start_with(routeguide::db::builtin(), config).await;
    let mut health = HealthClient::new(server.channel().await);
    let request = |service: &str| HealthCheckRequest {
        service: service.into(),
    };
    let mut unknown = health
        .watch(request("not.Registered"))
        .await
        .unwrap()
        .into_inner();
    let service_unknown = ServingStatus::ServiceUnknown as i32;
    assert_eq!(next_status(&mut unknown).await, service_unknown);
    let mut whole = health.watch(request("")).await.unwrap().into_inner();
    assert_eq!(next_status(&mut whole).await, ServingStatus::Serving as i32);
    let _stopped = server.shutdown();
    // Shutdown first turns the server NOT_SERVING, and ends open streams only after the grace.
    assert_eq!(
        next_status(&mut whole).await,
        ServingStatus::NotServing as i32
    );
    // Had the server ended the unknown watch after SERVICE_UNKNOWN, that end would have
    // reached this connection before NOT_SERVING did: it is still open.
    let early = unknown.message().now_or_never();
    assert!(early.is_none(), "the call stays open: {early:?}");
    // It ends, with OK, when the server drains open streams.
    let end = tokio::time::timeout(Duration::from_secs(20), unknown.message())
        .await
        .expect("the drain ends the watch");
    assert!(matches!(end, Ok(None)), "{end:?}");
}
