//! `routeguide list LO HI`: one ListFeatures call, printed as it streams.

use clap::Args;
use routeguide::geo::{GeoPoint, GeoRect};

use super::{ClientArgs, parse_point};

/// Arguments of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// One corner, `LAT,LON` in degrees or E7.
    #[arg(value_parser = parse_point, allow_hyphen_values = true)]
    pub lo: GeoPoint,
    /// The opposite corner.
    #[arg(value_parser = parse_point, allow_hyphen_values = true)]
    pub hi: GeoPoint,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Prints every feature in the rectangle as it arrives.
pub async fn run(args: ListArgs) -> anyhow::Result<()> {
    let mut client = args.client.connect().await?;
    let printer = args.client.printer();
    let mut features = client
        .list_features(GeoRect::from_corners(args.lo, args.hi))
        .await?;
    while let Some(feature) = features.message().await? {
        printer.feature(&feature)?;
    }
    Ok(())
}
