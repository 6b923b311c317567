//! `accord retro ID [--from D] [--to D] [--as-of T] --out report.html`: the retrospective report
//! of a partnership (see `accord_report`), as the server serves it on
//! `GET /v1/partnerships/{id}/retro`, written to one self-contained HTML file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::api::{Server, get_text};
use crate::output::{Output, finish_out, start_out};

#[derive(Debug, clap::Args)]
pub(crate) struct RetroArgs {
    /// The partnership.
    id: String,
    /// The first day of business time shown (YYYY-MM-DD; default: the first event's).
    #[arg(long)]
    from: Option<String>,
    /// The last day shown (YYYY-MM-DD; default: the day of --valid-at).
    #[arg(long)]
    to: Option<String>,
    /// What the ledger knew at this RFC 3339 time (default: now).
    #[arg(long)]
    as_of: Option<String>,
    /// The business time the partnership is evaluated at, RFC 3339 (default: --as-of): how it
    /// stood then, as the ledger knew it at --as-of.
    #[arg(long)]
    valid_at: Option<String>,
    /// The HTML file to write (replaced if it exists).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    output: Output,
    #[command(flatten)]
    server: Server,
}

pub(crate) async fn retro(args: RetroArgs) -> Result<ExitCode> {
    let path = format!("/v1/partnerships/{}/retro", args.id);
    let query = [
        ("from", args.from.as_deref()),
        ("to", args.to.as_deref()),
        ("as_of", args.as_of.as_deref()),
        ("valid_at", args.valid_at.as_deref()),
    ];
    let file = match start_out(&args.out)? {
        Ok(file) => file,
        Err(code) => return Ok(code),
    };
    let page = match get_text(&args.server, &args.server.client()?, &path, &query).await? {
        Ok(page) => page,
        Err(code) => return Ok(code),
    };
    file.as_file().write_all(page.as_bytes())?;
    finish_out(file, &args.out)?;
    let summary = serde_json::json!({
        "partnership_id": args.id,
        "out": args.out,
        "bytes": page.len(),
    });
    args.output.print(&summary, || {
        println!(
            "wrote the retrospective of {} to {}",
            args.id,
            args.out.display()
        );
    })?;
    Ok(ExitCode::SUCCESS)
}
