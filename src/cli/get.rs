//! `routeguide get LAT,LON`: one GetFeature call.

use clap::Args;
use routeguide::geo::GeoPoint;

use super::{ClientArgs, parse_point};

/// Arguments of `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The point, in degrees (`40.9146138,-74.6188906`) or E7 (`409146138,-746188906`).
    #[arg(value_parser = parse_point, allow_hyphen_values = true)]
    pub point: GeoPoint,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Prints the feature at the point, or that there is none.
pub async fn run(args: GetArgs) -> anyhow::Result<()> {
    let mut client = args.client.connect().await?;
    let feature = client.get_feature(args.point).await?;
    args.client.printer().feature(&feature)
}
