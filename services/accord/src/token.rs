//! `accord token new`: makes a bearer token, prints it once and keeps only its hash.

use std::path::PathBuf;

use accord_domain::OrgId;
use accord_domain::ids::Uuid;
use accord_http::auth::{Grant, Role, TokenFile, token_hash};
use anyhow::{Context, Result, bail};

#[derive(Debug, clap::Args)]
pub(crate) struct NewArgs {
    /// The org the token acts for.
    #[arg(long)]
    org: OrgId,
    /// What it may do.
    #[arg(long, value_enum)]
    role: RoleArg,
    /// Who holds it (for the logs), e.g. acme-crm.
    #[arg(long)]
    name: String,
    /// The token file to add it to (created if missing).
    #[arg(long, default_value = "accord-tokens.json")]
    file: PathBuf,
    #[command(flatten)]
    output: crate::output::Output,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Writer,
    Reader,
    Auditor,
}

pub(crate) fn new(args: NewArgs) -> Result<()> {
    let mut file: TokenFile = if args.file.exists() {
        let text = std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a token file", args.file.display()))?
    } else {
        TokenFile::default()
    };
    if file.tokens.iter().any(|g| g.name == args.name) {
        bail!(
            "{} already holds a token named {:?}",
            args.file.display(),
            args.name
        );
    }
    // 244 random bits from the operating system's generator.
    let token = format!("acc_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let role = match args.role {
        RoleArg::Writer => Role::Writer,
        RoleArg::Reader => Role::Reader,
        RoleArg::Auditor => Role::Auditor,
    };
    file.tokens.push(Grant {
        name: args.name.clone(),
        org: args.org.clone(),
        role,
        sha256: token_hash(&token),
    });
    write_private(
        &args.file,
        (serde_json::to_string_pretty(&file)? + "\n").as_bytes(),
    )
    .with_context(|| format!("writing {}", args.file.display()))?;
    let made = serde_json::json!({
        "token": token,
        "name": args.name,
        "org": args.org,
        "role": role,
        "file": args.file,
    });
    args.output.print(&made, || println!("{token}"))?;
    eprintln!(
        "token {:?} for {} ({:?}) added to {}; it is shown only now",
        args.name,
        args.org,
        args.role,
        args.file.display()
    );
    Ok(())
}

/// Writes a file only its owner may read or write (0600), through a temporary file renamed into
/// place (so a token file written earlier with wider permissions is replaced by a private one).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".accord-tokens-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
