//! `routeguide chat`: notes from stdin (`LAT,LON message`), replies to stdout.

use std::io::BufRead;

use anyhow::Context;
use clap::Args;
use routeguide::pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::coords::{Units, parse_point};
use super::{ClientArgs, CoordinateArgs};

/// Arguments of `chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub coordinates: CoordinateArgs,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Streams stdin's notes to the server and prints every note it replays, until both end.
pub async fn run(args: ChatArgs) -> anyhow::Result<()> {
    let mut client = args.client.connect().await?;
    let printer = args.client.printer();
    let (notes, outgoing) = mpsc::channel(16);
    // Blocking stdin reads cannot be cancelled, so they run on a plain thread that the
    // process may exit without joining (a deadline must not wait for the user's next line).
    let units = args.coordinates.units();
    let reader = std::thread::spawn(move || read_notes(notes, units));
    let mut replies = client.route_chat(ReceiverStream::new(outgoing)).await?;
    while let Some(note) = replies.message().await? {
        printer.note(&note)?;
    }
    match reader.join() {
        Ok(result) => result,
        Err(_) => anyhow::bail!("stdin reader panicked"),
    }
}

/// Reads `LAT,LON message` lines from stdin until EOF or the first bad line.
fn read_notes(notes: mpsc::Sender<pb::RouteNote>, units: Units) -> anyhow::Result<()> {
    for (index, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.context("stdin: cannot read")?;
        let number = index + 1;
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let (point, message) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let point =
            parse_point(point, units).map_err(|e| anyhow::anyhow!("stdin:{number}: {e}"))?;
        let note = pb::RouteNote {
            location: Some(point.into()),
            message: message.trim_start().to_owned(),
        };
        if notes.blocking_send(note).is_err() {
            // The call ended; its status is reported by the reply loop.
            break;
        }
    }
    Ok(())
}
