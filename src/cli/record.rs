//! `routeguide record FILE`, `record -` or `record --random N`: one RecordRoute call.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use routeguide::geo::GeoPoint;
use routeguide::index::FeatureIndex;
use routeguide::pb;

use super::coords::{Units, parse_point};
use super::values::parse_positive;
use super::{ClientArgs, CoordinateArgs};

/// Arguments of `record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// A file with one `LAT,LON` per line (degrees, or E7 as for `get`; `#` comments and
    /// blank lines skipped), or `-` for stdin.
    #[arg(required_unless_present = "random", conflicts_with = "random")]
    pub source: Option<String>,
    /// Send N points picked at random from the database's features instead.
    #[arg(long, value_name = "N", env = "ROUTEGUIDE_RANDOM", value_parser = parse_positive::<usize>)]
    pub random: Option<usize>,
    /// The database to pick random points from (default: the built-in one).
    #[arg(long, env = "ROUTEGUIDE_DB")]
    pub db: Option<PathBuf>,
    /// Seed for `--random`, to repeat a route.
    #[arg(long, env = "ROUTEGUIDE_SEED")]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub coordinates: CoordinateArgs,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Sends the route and prints the summary.
pub async fn run(args: RecordArgs) -> anyhow::Result<()> {
    let units = args.coordinates.units();
    let points = match (&args.source, args.random) {
        (_, Some(count)) => {
            let index = load_index(args.db.as_deref())?;
            random_points(&index, count, args.seed)
        }
        (Some(source), None) if source == "-" => {
            read_points("stdin", std::io::stdin().lock(), units)?
        }
        (Some(source), None) => {
            let file =
                std::fs::File::open(source).with_context(|| format!("{source}: cannot read"))?;
            read_points(source, std::io::BufReader::new(file), units)?
        }
        (None, None) => anyhow::bail!("give a route file, `-` or --random N"),
    };
    let mut client = args.client.connect().await?;
    let stream = futures::stream::iter(points.into_iter().map(pb::Point::from));
    let summary = client.record_route(stream).await?;
    args.client.printer().summary(&summary)
}

/// Returns the database at `path`, or the built-in one.
pub fn load_index(path: Option<&std::path::Path>) -> anyhow::Result<FeatureIndex> {
    Ok(match path {
        Some(path) => routeguide::db::load_file(path)?,
        None => routeguide::db::builtin(),
    })
}

/// Returns `count` feature locations picked at random (with replacement).
pub fn random_points(index: &FeatureIndex, count: usize, seed: Option<u64>) -> Vec<GeoPoint> {
    let mut rng = match seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => rand::make_rng(),
    };
    if index.is_empty() {
        return Vec::new();
    }
    (0..count)
        .filter_map(|_| index.feature_at(rng.random_range(0..index.len())))
        .map(|feature| feature.location)
        .collect()
}

/// Returns the points of a route file; errors name the file and line.
fn read_points(name: &str, reader: impl BufRead, units: Units) -> anyhow::Result<Vec<GeoPoint>> {
    let mut points = Vec::new();
    for (number, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("{name}: cannot read"))?;
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let point =
            parse_point(text, units).map_err(|e| anyhow::anyhow!("{name}:{}: {e}", number + 1))?;
        points.push(point);
    }
    Ok(points)
}
