//! A RouteGuide server whose handlers do no work: the throughput ceiling benchmarks compare with.
//!
//! GetFeature echoes the request point, ListFeatures streams `--list-features` pre-built
//! features (cycling through a pool) whatever the rectangle, RecordRoute only counts points,
//! and RouteChat reads every note and replies with none. It is tonic as it comes (generated
//! with tonic-prost's stock codec, where `routeguide::pb` uses routeguide's own decoder),
//! set up as `routeguide serve` sets tonic up (TCP_NODELAY, a multi-threaded runtime), with
//! no index, no validation, no deadline layer, no health or reflection.
//!
//! Run: `cargo run --release --example ceiling -- --addr 127.0.0.1:50052 --list-features 67`

use std::pin::Pin;
use std::sync::Arc;

use clap::Parser;
use futures::{Stream, StreamExt};
use pb::route_guide_server::{RouteGuide, RouteGuideServer};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status, Streaming};

/// The RouteGuide messages and server as tonic-prost-build generates them by default
/// (`routeguide::pb` uses routeguide's own codec instead).
#[allow(missing_docs, clippy::all)]
mod pb {
    include!(concat!(env!("OUT_DIR"), "/stock/routeguide.rs"));
}

/// Flags of the ceiling server.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:50052")]
    addr: String,
    /// Features streamed by every ListFeatures call.
    #[arg(long, default_value_t = 67)]
    list_features: usize,
    /// Distinct pre-built features the streams cycle through.
    #[arg(long, default_value_t = 4096)]
    pool: usize,
}

struct Ceiling {
    features: Arc<Vec<pb::Feature>>,
    per_call: usize,
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl RouteGuide for Ceiling {
    async fn get_feature(
        &self,
        request: Request<pb::Point>,
    ) -> Result<Response<pb::Feature>, Status> {
        Ok(Response::new(pb::Feature {
            name: String::new(),
            location: Some(request.into_inner()),
        }))
    }

    type ListFeaturesStream = BoxStream<pb::Feature>;

    async fn list_features(
        &self,
        _request: Request<pb::Rectangle>,
    ) -> Result<Response<Self::ListFeaturesStream>, Status> {
        let features = Arc::clone(&self.features);
        let pool = features.len().max(1);
        let stream = futures::stream::iter(0..self.per_call)
            .filter_map(move |i| futures::future::ready(features.get(i % pool).cloned().map(Ok)));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn record_route(
        &self,
        request: Request<Streaming<pb::Point>>,
    ) -> Result<Response<pb::RouteSummary>, Status> {
        let mut points = request.into_inner();
        let mut count = 0i32;
        while points.message().await?.is_some() {
            count = count.saturating_add(1);
        }
        Ok(Response::new(pb::RouteSummary {
            point_count: count,
            ..Default::default()
        }))
    }

    type RouteChatStream = BoxStream<pb::RouteNote>;

    async fn route_chat(
        &self,
        request: Request<Streaming<pb::RouteNote>>,
    ) -> Result<Response<Self::RouteChatStream>, Status> {
        let replies = request
            .into_inner()
            .filter_map(|_| futures::future::ready(None::<Result<pb::RouteNote, Status>>));
        Ok(Response::new(Box::pin(replies)))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let features = (0..args.pool.max(1))
        .map(|i| pb::Feature {
            // 28 bytes, the average name length of `routeguide gen` databases.
            name: format!("{:05} Ceiling Ave, Dover, NJ", i % 100_000),
            location: Some(pb::Point {
                latitude: 400_000_000 + i as i32,
                longitude: -740_000_000 - i as i32,
            }),
        })
        .collect();
    let service = Ceiling {
        features: Arc::new(features),
        per_call: args.list_features,
    };
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    let address = listener.local_addr()?;
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    println!("listening on {address}");
    Server::builder()
        .add_service(RouteGuideServer::new(service))
        .serve_with_incoming_shutdown(incoming, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
