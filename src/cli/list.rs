//! `routeguide list LO HI`: one ListFeatures call, printed as it streams.

use clap::Args;
use routeguide::geo::GeoRect;

use super::coords::PointText;
use super::{ClientArgs, CoordinateArgs};

/// Arguments of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// One corner, `LAT,LON` in degrees (or E7 integers, as for `get`).
    #[arg(value_parser = PointText::parse, allow_hyphen_values = true)]
    pub lo: PointText,
    /// The opposite corner.
    #[arg(value_parser = PointText::parse, allow_hyphen_values = true)]
    pub hi: PointText,
    #[command(flatten)]
    pub coordinates: CoordinateArgs,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Prints every feature in the rectangle as it arrives.
pub async fn run(args: ListArgs) -> anyhow::Result<()> {
    let lo = args.coordinates.resolve("<LO>", &args.lo)?;
    let hi = args.coordinates.resolve("<HI>", &args.hi)?;
    let mut client = args.client.connect().await?;
    let printer = args.client.printer();
    let mut features = client.list_features(GeoRect::from_corners(lo, hi)).await?;
    while let Some(feature) = features.message().await? {
        printer.feature(&feature)?;
    }
    Ok(())
}
