//! One place for cross-cutting concerns: a layer in the server's stack sees every
//! RouteGuide call (all four RPCs, compressed or not), can answer it before the handler
//! runs, and what it writes into a request's metadata and extensions reaches the handler.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use routeguide::config::ServerConfig;
use tonic::body::Body;
use tonic::transport::server::TcpConnectInfo;
use tonic::{Code, Status};

use routeguide::pb;

use super::every_rpc::{self, RPCS};
use super::logs::logs;
use super::support::{TestServer, pb_point};
use super::web_client::{Mode, call as web_call};

/// The header that asks the gate to reject a call.
const REJECT: &str = "x-gate-reject";

/// The peer address the gate writes into every call it lets through.
fn gate_peer() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 1], 4242))
}

/// One request as the gate saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    path: String,
    encoding: Option<String>,
    content_type: Option<String>,
    user_agent: String,
}

/// A test-only layer: records every request, rejects those with [`REJECT`] with
/// `PERMISSION_DENIED`, and rewrites the peer (an extension) and user agent (metadata) of
/// the others.
#[derive(Clone, Default)]
struct GateLayer {
    seen: Arc<Mutex<Vec<Seen>>>,
}

#[derive(Clone)]
struct Gate<S> {
    inner: S,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl<S> tower::Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            seen: Arc::clone(&self.seen),
        }
    }
}

impl<S> tower::Service<http::Request<Body>> for Gate<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Either<Ready<Result<http::Response<Body>, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let user_agent = header("user-agent").unwrap_or_default();
        self.seen.lock().unwrap().push(Seen {
            path: request.uri().path().to_owned(),
            encoding: header("grpc-encoding"),
            content_type: header("content-type"),
            user_agent: user_agent.clone(),
        });
        if request.headers().contains_key(REJECT) {
            let status = Status::permission_denied("rejected by the gate");
            return Either::Left(ready(Ok(status.into_http())));
        }
        let rewritten = format!("{user_agent} through-the-gate");
        request
            .headers_mut()
            .insert("user-agent", rewritten.parse().unwrap());
        request.extensions_mut().insert(TcpConnectInfo {
            local_addr: None,
            remote_addr: Some(gate_peer()),
        });
        Either::Right(self.inner.call(request))
    }
}

/// Makes one call of `rpc` as `agent`, marked for rejection when `reject`; returns its
/// status code.
async fn call(server: &TestServer, agent: &str, rpc: &str, gzip: bool, reject: bool) -> Code {
    let metadata: &[(&'static str, &str)] = if reject { &[(REJECT, "yes")] } else { &[] };
    match every_rpc::call(server, agent, rpc, gzip, metadata).await {
        Ok(()) => Code::Ok,
        Err(status) => {
            assert!(
                status.code() != Code::PermissionDenied
                    || status.message() == "rejected by the gate",
                "{status:?}"
            );
            status.code()
        }
    }
}

#[tokio::test]
async fn a_layer_sees_every_call_and_its_changes_reach_the_handler() {
    let gate = GateLayer::default();
    let server = TestServer::start_layered(
        routeguide::db::builtin(),
        ServerConfig::default(),
        gate.clone(),
    )
    .await;
    for rpc in RPCS {
        for gzip in [false, true] {
            let agent = format!("layer-test-{rpc}-gzip-{gzip}");
            assert_eq!(call(&server, &agent, rpc, gzip, false).await, Code::Ok);
            // The gate saw the call, compressed as sent.
            let seen = gate.seen.lock().unwrap().clone();
            let call = seen
                .iter()
                .find(|s| s.user_agent.contains(&agent))
                .unwrap_or_else(|| panic!("the gate did not see {agent}: {seen:?}"));
            assert_eq!(call.path, format!("/routeguide.RouteGuide/{rpc}"));
            assert_eq!(call.encoding.as_deref(), gzip.then_some("gzip"), "{agent}");
            // The handler's log line names the peer and user agent the gate wrote.
            let line = logs()
                .wait_for(&[&format!("rpc=\"{rpc}\""), &agent, "call ok"])
                .await;
            assert!(line.contains("through-the-gate"), "metadata: {line}");
            assert!(line.contains(&gate_peer().to_string()), "extension: {line}");
        }
    }
}

#[tokio::test]
async fn a_layer_can_reject_every_call_before_its_handler_runs() {
    let gate = GateLayer::default();
    let server = TestServer::start_layered(
        routeguide::db::builtin(),
        ServerConfig::default(),
        gate.clone(),
    )
    .await;
    for rpc in RPCS {
        for gzip in [false, true] {
            let agent = format!("rejected-{rpc}-gzip-{gzip}");
            assert_eq!(
                call(&server, &agent, rpc, gzip, true).await,
                Code::PermissionDenied,
                "{agent}"
            );
            assert!(
                gate.seen
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|s| s.user_agent.contains(&agent)),
                "the gate did not see {agent}"
            );
            // A handler logs its call before the response ends; none did.
            assert_eq!(logs().matching(&[&agent]), Vec::<String>::new(), "{agent}");
        }
    }
    // No rejected note was stored: a chat at their location replays nothing.
    let agent = "after-the-rejections";
    assert_eq!(
        call(&server, agent, "RouteChat", false, false).await,
        Code::Ok
    );
    let line = logs()
        .wait_for(&["rpc=\"RouteChat\"", agent, "call ok"])
        .await;
    assert!(line.contains("items=0"), "replayed a rejected note: {line}");
}

#[tokio::test]
async fn a_layer_sees_grpc_web_calls_as_grpc_and_can_reject_them() {
    let gate = GateLayer::default();
    let server = TestServer::start_layered(
        routeguide::db::builtin(),
        ServerConfig::default(),
        gate.clone(),
    )
    .await;
    let point = pb_point(409_146_138, -746_188_906);
    let note = pb::RouteNote {
        location: Some(pb_point(5, 5)),
        message: "from a browser".into(),
    };
    for rpc in RPCS {
        for reject in [false, true] {
            let agent = format!("grpc-web-{rpc}-reject-{reject}");
            let mut headers = vec![("user-agent", agent.as_str())];
            if reject {
                headers.push((REJECT, "yes"));
            }
            let (addr, mode) = (server.addr, Mode::Binary);
            let answer = match rpc {
                "ListFeatures" => {
                    let rectangle = pb::Rectangle {
                        lo: Some(point),
                        hi: Some(point),
                    };
                    web_call(addr, rpc, &[rectangle], mode, &headers).await
                }
                "RouteChat" => {
                    web_call(addr, rpc, std::slice::from_ref(&note), mode, &headers).await
                }
                _ => web_call(addr, rpc, &[point], mode, &headers).await,
            };
            let seen = gate.seen.lock().unwrap().clone();
            let call = seen
                .iter()
                .find(|s| s.user_agent.contains(&agent))
                .unwrap_or_else(|| panic!("the gate did not see {agent}: {seen:?}"));
            assert_eq!(call.path, format!("/routeguide.RouteGuide/{rpc}"));
            // Translated before the layer, and the layer's answer translated back.
            assert_eq!(call.content_type.as_deref(), Some("application/grpc"));
            let content_type = answer.headers.get("content-type").unwrap();
            assert_eq!(content_type, "application/grpc-web+proto", "{agent}");
            if reject {
                assert_eq!(answer.grpc_status(), Some(Code::PermissionDenied as i32));
                assert_eq!(answer.grpc_message(), "rejected by the gate");
                assert_eq!(logs().matching(&[&agent]), Vec::<String>::new(), "{agent}");
            } else {
                assert_eq!(answer.grpc_status(), Some(0), "{agent}: {answer:?}");
                let line = logs()
                    .wait_for(&[&format!("rpc=\"{rpc}\""), &agent, "call ok"])
                    .await;
                assert!(line.contains("through-the-gate"), "metadata: {line}");
            }
        }
    }
}
