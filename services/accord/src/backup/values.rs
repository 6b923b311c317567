//! The personal values of a backup: `disclosures.jsonl`, one disclosure per line (the JSON
//! array `[salt, path, value]`, the exact bytes its digest hashes), in digest order.
//!
//! It holds the values the backup's commits refer to and have not erased, no other: a value
//! recorded after the copy's last position, or erased by a commit in it, stays out. A value
//! erased after the copy began is absent from the log, and so from the backup. The file is
//! readable by its owner only (it names people).

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use accord_domain::personal::{Digest, Disclosure, Unjoined, erased};
use accord_proto::ReadCommit;
use anyhow::{Context, Result, ensure};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

pub(super) const FILE: &str = "disclosures.jsonl";

/// What the manifest says of `disclosures.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ValuesFile {
    pub(super) values: u64,
    /// SHA-256 of the file, hex.
    pub(super) sha256: String,
}

/// Which personal values the commits of a copy refer to, and which of those they erase.
#[derive(Debug, Default)]
pub(super) struct Refs {
    referenced: HashSet<Digest>,
    erased: HashSet<Digest>,
}

impl Refs {
    /// Notes the digests of a commit of the copy, in log order.
    pub(super) fn note(&mut self, commit: &mut ReadCommit) -> Result<()> {
        self.referenced.extend(commit.digests()?);
        self.erased
            .extend(erased(commit.events.iter().map(Unjoined::stored)));
        Ok(())
    }

    fn keeps(&self, d: &Digest) -> bool {
        self.referenced.contains(d) && !self.erased.contains(d)
    }

    /// How many values the copy's commits hold and have not erased.
    fn held(&self) -> usize {
        self.referenced.difference(&self.erased).count()
    }
}

/// What `write` kept.
#[derive(Debug)]
pub(super) struct Written {
    pub(super) file: ValuesFile,
    /// Values the commits hold that the log no longer had: erased after the copy began.
    pub(super) erased_since: usize,
}

/// Writes into `dir` the disclosures of `body` (as `GET /v1/log/disclosures` sends them) that
/// the copy's commits keep.
pub(super) fn write(dir: &Path, body: &str, refs: &Refs) -> Result<Written> {
    let path = dir.join(FILE);
    let mut file = tempfile::Builder::new()
        .prefix(".accord-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let mut sha = Sha256::new();
    let mut values = 0u64;
    for (n, line) in body.lines().enumerate() {
        let d = Disclosure::parse(line)
            .with_context(|| format!("line {} of the personal values cannot be read", n + 1))?;
        if refs.keeps(&d.digest()) {
            let line = format!("{}\n", d.as_json());
            file.write_all(line.as_bytes())?;
            sha.update(line.as_bytes());
            values += 1;
        }
    }
    file.as_file().sync_all()?;
    file.persist(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    let erased_since = refs.held() - usize::try_from(values)?;
    Ok(Written {
        file: ValuesFile {
            values,
            sha256: super::hex_of(sha),
        },
        erased_since,
    })
}

/// Reads `disclosures.jsonl` of `dir`, checked against the manifest (`want`) and the commits
/// of the backup (`refs`): each value hashes to its digest and is one the commits keep.
pub(super) fn read(dir: &Path, want: &ValuesFile, refs: &Refs) -> Result<Vec<Disclosure>> {
    let path = dir.join(FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let sha256 = super::hex_of(Sha256::new_with_prefix(text.as_bytes()));
    ensure!(
        sha256 == want.sha256,
        "{} changed since the backup was taken: its SHA-256 is {sha256}, the manifest says {}",
        path.display(),
        want.sha256
    );
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let d = Disclosure::parse(line)
            .with_context(|| format!("line {} of {} cannot be read", n + 1, path.display()))?;
        ensure!(
            refs.keeps(&d.digest()),
            "line {} of {} holds a value no commit of the backup refers to (or one it erased)",
            n + 1,
            path.display()
        );
        out.push(d);
    }
    ensure!(
        u64::try_from(out.len())? == want.values,
        "{} holds {} values, the manifest says {}",
        path.display(),
        out.len(),
        want.values
    );
    Ok(out)
}
