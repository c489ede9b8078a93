//! `routeguide get LAT,LON`: a GetFeature call (and, for an unnamed answer, a check whether
//! a feature is there).

use clap::Args;
use routeguide::client::RouteGuideClient;
use routeguide::geo::{GeoPoint, GeoRect};

use super::coords::PointText;
use super::{ClientArgs, CoordinateArgs};

/// Arguments of `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The point, in degrees (`40.9146138,-74.6188906`, `40,-74`) or E7 integers
    /// (`409146138,-746188906`: both integers and one beyond 180, or with `--e7`).
    #[arg(value_parser = PointText::parse, allow_hyphen_values = true)]
    pub point: PointText,
    #[command(flatten)]
    pub coordinates: CoordinateArgs,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Prints the feature at the point, an unnamed feature, or that there is none.
pub async fn run(args: GetArgs) -> anyhow::Result<()> {
    let point = args.coordinates.resolve("<POINT>", &args.point)?;
    let mut client = args.client.connect().await?;
    let printer = args.client.printer();
    let feature = client.get_feature(point).await?;
    // GetFeature answers an empty name both for "no feature" and for an unnamed feature;
    // the sentence tells them apart (JSON prints the answer as it is).
    let exists =
        !printer.json && feature.name.is_empty() && has_feature_at(&mut client, point).await?;
    printer.lookup(&feature, exists)
}

/// Returns whether any feature lies exactly at `point` (a ListFeatures over that point).
async fn has_feature_at(client: &mut RouteGuideClient, point: GeoPoint) -> anyhow::Result<bool> {
    let mut features = client
        .list_features(GeoRect::from_corners(point, point))
        .await?;
    Ok(features.message().await?.is_some())
}
