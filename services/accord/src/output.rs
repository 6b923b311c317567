//! Where a client command's result goes: standard output as words or, with `--json`, as one JSON
//! document (`Output`); or a file, written beside its place and renamed into it once complete.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::Value;

/// How a client command prints its result.
#[derive(Debug, clap::Args)]
pub(crate) struct Output {
    /// Print the result as one JSON document on standard output instead of words and tables
    /// (errors still go to standard error, with the same exit codes).
    #[arg(long)]
    pub(crate) json: bool,
}

impl Output {
    /// Prints `value` as JSON with `--json`, else runs `words`.
    pub(crate) fn print(&self, value: &Value, words: impl FnOnce()) -> Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            words();
        }
        Ok(())
    }
}

/// A file being written for `out`: a temporary file beside it, which [`finish_out`] renames into
/// place once complete (and which is removed if it never is). Exit code 2 when `out` does not
/// name a file in an existing directory.
pub(crate) fn start_out(out: &Path) -> Result<Result<tempfile::NamedTempFile, ExitCode>> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() || out.is_dir() {
        eprintln!(
            "error: --out {} must name a file in an existing directory",
            out.display()
        );
        return Ok(Err(ExitCode::from(2)));
    }
    Ok(Ok(tempfile::Builder::new()
        .prefix(".accord-")
        .tempfile_in(dir)
        .with_context(|| {
            format!("creating a file in {}", dir.display())
        })?))
}

/// Renames a complete file into place as an ordinary file (a temporary one is private).
pub(crate) fn finish_out(file: tempfile::NamedTempFile, out: &Path) -> Result<()> {
    file.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    file.persist(out)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
