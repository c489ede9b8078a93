//! One call of each RPC, built from real feature locations, as the load generator issues it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use rand::{RngExt, SeedableRng, rngs::StdRng};

use crate::geo::{E7_PER_DEGREE, GeoPoint, MAX_LATITUDE_E7, MAX_LONGITUDE_E7};
use crate::index::FeatureIndex;
use crate::pb;
use crate::pb::route_guide_client::RouteGuideClient;

use super::connection::Connection;
use super::counting_codec::CountingCodec;

/// The paths of the two RPCs whose response streams are counted, not decoded.
static LIST_FEATURES: http::uri::PathAndQuery =
    http::uri::PathAndQuery::from_static("/routeguide.RouteGuide/ListFeatures");
static ROUTE_CHAT: http::uri::PathAndQuery =
    http::uri::PathAndQuery::from_static("/routeguide.RouteGuide/RouteChat");

/// What one worker calls through: the generated client for unary answers, and a bare
/// gRPC client for response streams, whose messages are counted without being decoded
/// (`CountingCodec`).
#[derive(Debug, Clone)]
pub(super) struct Caller {
    client: RouteGuideClient<Connection>,
    grpc: tonic::client::Grpc<Connection>,
}

impl Caller {
    /// Returns the caller of `connection`, accepting response messages of any size.
    pub(super) fn new(connection: &Connection) -> Self {
        Self {
            client: connection.client().max_decoding_message_size(usize::MAX),
            grpc: connection.grpc().max_decoding_message_size(usize::MAX),
        }
    }

    /// Waits until the connection can take a call; the generated client's status otherwise.
    async fn ready(&mut self) -> Result<(), tonic::Code> {
        self.grpc.ready().await.map_err(|_| tonic::Code::Unknown)
    }
}

/// Messages one worker has sent and received so far, counted as they move (not when a
/// call ends), so rates over a window are exact even for calls longer than the window.
#[derive(Debug, Default)]
pub struct MessageCounters {
    /// Messages sent.
    pub sent: AtomicU64,
    /// Messages received.
    pub received: AtomicU64,
}

impl MessageCounters {
    fn add_sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    fn add_received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }
}

/// The RPC a benchmark drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rpc {
    /// Unary GetFeature at a real feature's location.
    GetFeature,
    /// ListFeatures over a square around a real feature (or the whole world).
    ListFeatures,
    /// RecordRoute of `points` real feature locations.
    RecordRoute,
    /// RouteChat stream of `points` notes at real feature locations.
    RouteChat,
}

/// The rectangle a ListFeatures call asks for.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RectShape {
    /// A square of this many degrees per side centred on a real feature.
    Square(f64),
    /// The whole world: every feature of the database.
    World,
}

/// Everything needed to build requests; shared read-only by all workers.
#[derive(Debug, Clone)]
pub struct Workload {
    rpc: Rpc,
    points: Vec<GeoPoint>,
    rect: RectShape,
    points_per_call: usize,
    timeout: Duration,
}

impl Workload {
    /// Returns a workload that picks `sample` feature locations of `index` at random
    /// (repeatably for a given `seed`). An empty index yields the origin only.
    pub fn new(
        rpc: Rpc,
        index: &FeatureIndex,
        sample: usize,
        seed: u64,
        rect: RectShape,
        points_per_call: usize,
        timeout: Duration,
    ) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut points: Vec<GeoPoint> = (0..sample.max(1))
            .filter_map(|_| {
                if index.is_empty() {
                    return None;
                }
                index
                    .feature_at(rng.random_range(0..index.len()))
                    .map(|f| f.location)
            })
            .collect();
        if points.is_empty() {
            points.push(GeoPoint::saturating(0, 0));
        }
        Self {
            rpc,
            points,
            rect,
            points_per_call: points_per_call.max(1),
            timeout,
        }
    }

    /// Returns the workload with its locations replaced by `locations` distinct points on
    /// a grid (0.0001° apart, 1024 per row, from 40°N 74°W), picked at random as before; so
    /// RouteChat notes spread over exactly that many locations whatever the database.
    pub fn with_locations(mut self, locations: usize) -> Self {
        self.points = (0..locations.max(1))
            .map(|i| {
                let row = i32::try_from(i / 1024).unwrap_or(i32::MAX);
                let column = (i % 1024) as i32;
                GeoPoint::saturating(
                    400_000_000_i32.saturating_add(row.saturating_mul(1000)),
                    -740_000_000 + column * 1000,
                )
            })
            .collect();
        self
    }

    /// Returns the RPC this workload drives.
    pub fn rpc(&self) -> Rpc {
        self.rpc
    }

    /// Returns the deadline of each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn point(&self, rng: &mut StdRng) -> GeoPoint {
        self.points[rng.random_range(0..self.points.len())]
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.timeout);
        request
    }

    /// Performs one call, counting messages in `counters` as they move, and returns the
    /// status code if it failed.
    pub(super) async fn call(
        &self,
        caller: &mut Caller,
        rng: &mut StdRng,
        counters: &Arc<MessageCounters>,
    ) -> Result<(), tonic::Code> {
        let client = &mut caller.client;
        match self.rpc {
            Rpc::GetFeature => {
                let request = self.request(pb::Point::from(self.point(rng)));
                counters.add_sent();
                client.get_feature(request).await.map_err(|s| s.code())?;
                counters.add_received();
                Ok(())
            }
            Rpc::ListFeatures => {
                let rectangle = self.rectangle(rng);
                caller.ready().await?;
                counters.add_sent();
                let stream = caller
                    .grpc
                    .server_streaming(
                        self.request(rectangle),
                        LIST_FEATURES.clone(),
                        CountingCodec::default(),
                    )
                    .await;
                drain(stream, counters).await
            }
            Rpc::RecordRoute => {
                let points: Vec<pb::Point> = (0..self.points_per_call)
                    .map(|_| pb::Point::from(self.point(rng)))
                    .collect();
                let request = self.request(counted(points, counters));
                client.record_route(request).await.map_err(|s| s.code())?;
                counters.add_received();
                Ok(())
            }
            Rpc::RouteChat => {
                let notes: Vec<pb::RouteNote> = (0..self.points_per_call)
                    .map(|i| pb::RouteNote {
                        location: Some(pb::Point::from(self.point(rng))),
                        message: format!("bench note {i}"),
                    })
                    .collect();
                let request = self.request(counted(notes, counters));
                caller.ready().await?;
                let stream = caller
                    .grpc
                    .streaming(request, ROUTE_CHAT.clone(), CountingCodec::default())
                    .await;
                drain(stream, counters).await
            }
        }
    }

    /// Returns the rectangle of one ListFeatures call.
    fn rectangle(&self, rng: &mut StdRng) -> pb::Rectangle {
        let (lo, hi) = match self.rect {
            RectShape::World => (
                GeoPoint::saturating(-MAX_LATITUDE_E7, -MAX_LONGITUDE_E7),
                GeoPoint::saturating(MAX_LATITUDE_E7, MAX_LONGITUDE_E7),
            ),
            RectShape::Square(degrees) => {
                let centre = self.point(rng);
                let side = (degrees * E7_PER_DEGREE).round().max(0.0) as i64;
                let lat_lo = i64::from(centre.latitude()) - side / 2;
                let lon_lo = i64::from(centre.longitude()) - side / 2;
                let clamp = |v: i64| v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
                (
                    GeoPoint::saturating(clamp(lat_lo), clamp(lon_lo)),
                    GeoPoint::saturating(clamp(lat_lo + side), clamp(lon_lo + side)),
                )
            }
        };
        pb::Rectangle {
            lo: Some(lo.into()),
            hi: Some(hi.into()),
        }
    }
}

/// Returns a request stream of `items` that counts each one as tonic takes it.
fn counted<T: Send + 'static>(
    items: Vec<T>,
    counters: &Arc<MessageCounters>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    let counters = Arc::clone(counters);
    futures::stream::iter(items).inspect(move |_| counters.add_sent())
}

/// Reads a response stream to its end, counting messages.
async fn drain<T>(
    stream: Result<tonic::Response<tonic::Streaming<T>>, tonic::Status>,
    counters: &MessageCounters,
) -> Result<(), tonic::Code> {
    let mut stream = stream.map_err(|s| s.code())?.into_inner();
    while let Some(item) = stream.next().await {
        item.map_err(|s| s.code())?;
        counters.add_received();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn with_locations_spreads_over_exactly_that_many_points() {
        for locations in [1, 1024, 3000] {
            let workload = Workload::new(
                Rpc::RouteChat,
                &crate::db::builtin(),
                16,
                1,
                RectShape::World,
                10,
                Duration::from_secs(1),
            )
            .with_locations(locations);
            let distinct: HashSet<GeoPoint> = workload.points.iter().copied().collect();
            assert_eq!(distinct.len(), locations);
            let mut rng = StdRng::seed_from_u64(1);
            let picked: HashSet<GeoPoint> = (0..20_000).map(|_| workload.point(&mut rng)).collect();
            // Seeded, so repeatable: 20,000 picks reach every one of at most 3000 points.
            assert_eq!(picked, distinct);
        }
    }
}
