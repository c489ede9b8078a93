//! The standard `grpc.health.v1.Health` service, following the protocol for unknown services.
//!
//! tonic-health supplies the generated types; this implementation replaces its server because
//! its `Watch` fails an unknown service with `NOT_FOUND`, where the health protocol says to
//! send `SERVICE_UNKNOWN` and keep the call open until the service becomes known.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures::Stream;
use futures::StreamExt;
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// Sets serving statuses; cheap to clone, shared with the [`HealthService`] it was made with.
#[derive(Debug, Clone, Default)]
pub struct HealthReporter {
    /// One watch channel per service name; `""` is the whole server. A channel whose value
    /// is `ServiceUnknown` exists only because someone watched an unregistered name.
    services: Arc<Mutex<HashMap<String, watch::Sender<ServingStatus>>>>,
}

impl HealthReporter {
    /// Sets the status of `service` (`""` for the whole server) and notifies its watchers.
    pub fn set(&self, service: &str, status: ServingStatus) {
        let mut services = self.lock();
        match services.get(service) {
            Some(sender) => {
                sender.send_replace(status);
            }
            None => {
                services.insert(service.to_owned(), watch::Sender::new(status));
            }
        }
    }

    fn status(&self, service: &str) -> Option<ServingStatus> {
        let services = self.lock();
        let status = *services.get(service)?.borrow();
        (status != ServingStatus::ServiceUnknown).then_some(status)
    }

    fn subscribe(&self, service: &str) -> watch::Receiver<ServingStatus> {
        self.lock()
            .entry(service.to_owned())
            .or_insert_with(|| watch::Sender::new(ServingStatus::ServiceUnknown))
            .subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<ServingStatus>>> {
        // The map stays consistent across a panic (each operation is one insert or send).
        self.services
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The health service; `Watch` streams end when `drain` is cancelled.
#[derive(Debug, Clone)]
pub struct HealthService {
    reporter: HealthReporter,
    drain: CancellationToken,
}

/// Returns a linked reporter and gRPC health server.
pub fn health_reporter(drain: CancellationToken) -> (HealthReporter, HealthServer<HealthService>) {
    let reporter = HealthReporter::default();
    let service = HealthService {
        reporter: reporter.clone(),
        drain,
    };
    (reporter, HealthServer::new(service))
}

type WatchResponseStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let service = &request.get_ref().service;
        match self.reporter.status(service) {
            Some(status) => Ok(Response::new(HealthCheckResponse {
                status: status as i32,
            })),
            None => Err(Status::not_found(format!("service {service:?} is unknown"))),
        }
    }

    type WatchStream = WatchResponseStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let updates =
            WatchStream::new(self.reporter.subscribe(&request.get_ref().service)).map(|status| {
                Ok(HealthCheckResponse {
                    status: status as i32,
                })
            });
        let drain = self.drain.clone();
        let stream = updates.take_until(drain.cancelled_owned());
        Ok(Response::new(Box::pin(stream)))
    }
}
