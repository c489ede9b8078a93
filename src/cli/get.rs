//! `routeguide get LAT,LON`: one GetFeature call.

use clap::Args;

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

/// Prints the feature at the point, or that there is none.
pub async fn run(args: GetArgs) -> anyhow::Result<()> {
    let point = args.coordinates.resolve("<POINT>", &args.point)?;
    let mut client = args.client.connect().await?;
    let feature = client.get_feature(point).await?;
    args.client.printer().feature(&feature)
}
