//! `routeguide demo`: the gRPC tutorial's client walk-through against a running server.

use clap::Args;
use futures::future::try_join_all;
use routeguide::client::RouteGuideClient;
use routeguide::geo::{GeoPoint, GeoRect};
use routeguide::pb;

use super::ClientArgs;
use super::output::Printer;
use super::record::random_points;

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed for the random route, to repeat a run.
    #[arg(long, env = "ROUTEGUIDE_SEED")]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Runs the four tutorial steps in order, printing what the server answers. Every point is
/// the tutorial's own E7 value, never read from text, so no degree rule applies.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let mut client = args.client.connect().await?;
    let printer = args.client.printer();
    get_features(&mut client, printer).await?;
    list_features(&mut client, printer).await?;
    record_route(&mut client, printer, args.seed).await?;
    route_chat(&mut client, printer).await
}

fn e7(latitude: i32, longitude: i32) -> anyhow::Result<GeoPoint> {
    Ok(GeoPoint::new(latitude, longitude)?)
}

async fn get_features(client: &mut RouteGuideClient, printer: Printer) -> anyhow::Result<()> {
    let points = [e7(409_146_138, -746_188_906)?, e7(0, 0)?];
    printer.heading("GetFeature")?;
    for point in points {
        printer.lookup(&client.get_feature(point).await?, false)?;
    }
    printer.heading("GetFeature, concurrent calls")?;
    let calls = points.iter().cycle().take(4).map(|&point| {
        let mut client = client.clone();
        async move { client.get_feature(point).await }
    });
    for feature in try_join_all(calls).await? {
        printer.lookup(&feature, false)?;
    }
    Ok(())
}

async fn list_features(client: &mut RouteGuideClient, printer: Printer) -> anyhow::Result<()> {
    printer.heading("ListFeatures")?;
    let rect = GeoRect::from_corners(
        e7(400_000_000, -750_000_000)?,
        e7(420_000_000, -730_000_000)?,
    );
    let mut features = client.list_features(rect).await?;
    while let Some(feature) = features.message().await? {
        printer.feature(&feature)?;
    }
    Ok(())
}

async fn record_route(
    client: &mut RouteGuideClient,
    printer: Printer,
    seed: Option<u64>,
) -> anyhow::Result<()> {
    printer.heading("RecordRoute")?;
    let points = random_points(&routeguide::db::builtin(), 10, seed);
    let stream = futures::stream::iter(points.into_iter().map(pb::Point::from));
    printer.summary(&client.record_route(stream).await?)
}

async fn route_chat(client: &mut RouteGuideClient, printer: Printer) -> anyhow::Result<()> {
    printer.heading("RouteChat")?;
    let notes = [
        ("First message", 0, 0),
        ("Second message", 0, 1),
        ("Third message", 1, 0),
        ("Fourth message", 0, 0),
        ("Fifth message", 1, 0),
    ]
    .map(|(message, latitude, longitude)| pb::RouteNote {
        location: Some(pb::Point {
            latitude,
            longitude,
        }),
        message: message.to_owned(),
    });
    let mut replies = client.route_chat(futures::stream::iter(notes)).await?;
    while let Some(note) = replies.message().await? {
        printer.note(&note)?;
    }
    Ok(())
}
