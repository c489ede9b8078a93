//! Clients the replica tests talk through: RouteChat calls and health watches.

use std::time::Duration;

use routeguide::pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse, health_client::HealthClient};

pub type Client = pb::route_guide_client::RouteGuideClient<Channel>;

/// The longest a test waits for an event before it fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(60);

/// Returns a client on a new connection to `addr` (`host:port`).
pub async fn connect(addr: &str) -> Client {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    pb::route_guide_client::RouteGuideClient::new(channel)
}

/// Returns a note at `(latitude, 0)`.
pub fn note(latitude: i32, message: &str) -> pb::RouteNote {
    pb::RouteNote {
        location: Some(pb::Point {
            latitude,
            longitude: 0,
        }),
        message: message.to_owned(),
    }
}

/// Sends `notes` in one RouteChat call, half-closes, and returns the replies' messages,
/// or the status the call ended with.
pub async fn chat(
    client: &mut Client,
    notes: Vec<pb::RouteNote>,
) -> Result<Vec<String>, tonic::Status> {
    let mut replies = client
        .route_chat(futures::stream::iter(notes))
        .await?
        .into_inner();
    let mut received = Vec::new();
    while let Some(reply) = replies.message().await? {
        received.push(reply.message);
    }
    Ok(received)
}

/// An open RouteChat call: send notes one by one, read replies as they come.
pub struct OpenChat {
    pub outgoing: mpsc::Sender<pb::RouteNote>,
    pub replies: tonic::Streaming<pb::RouteNote>,
}

impl OpenChat {
    /// Opens a RouteChat call on `client`.
    pub async fn open(client: &mut Client) -> Self {
        let (outgoing, receiver) = mpsc::channel(16);
        let replies = client
            .route_chat(ReceiverStream::new(receiver))
            .await
            .unwrap()
            .into_inner();
        Self { outgoing, replies }
    }

    /// Returns the next reply, `Ok(None)` at the end, or the final status.
    pub async fn next(&mut self) -> Result<Option<String>, tonic::Status> {
        let next = tokio::time::timeout(PATIENCE, self.replies.message())
            .await
            .expect("a reply or the end of the call");
        next.map(|reply| reply.map(|note| note.message))
    }
}

/// A health Watch of the whole server at `addr`.
pub struct HealthWatch(tonic::Streaming<HealthCheckResponse>);

impl HealthWatch {
    /// Starts watching `addr`'s overall health (service `""`).
    pub async fn start(addr: &str) -> Self {
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let request = HealthCheckRequest {
            service: String::new(),
        };
        let stream = HealthClient::new(channel)
            .watch(request)
            .await
            .unwrap()
            .into_inner();
        Self(stream)
    }

    /// Waits until the watched status is `wanted` (skipping any other statuses).
    pub async fn until(&mut self, wanted: ServingStatus) {
        let reach = async {
            loop {
                let response = self.0.message().await.unwrap().expect("the watch goes on");
                if response.status == wanted as i32 {
                    return;
                }
            }
        };
        tokio::time::timeout(PATIENCE, reach)
            .await
            .unwrap_or_else(|_| panic!("health never became {wanted:?}"));
    }
}
