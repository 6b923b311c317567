//! The embedded store's disclosures: a sled database of their own beside the log, digest →
//! disclosure bytes.
//!
//! sled is log-structured: a removed value stays in its segment file until sled reclaims it,
//! which nothing forces. So an erasure writes a new *generation* (every disclosure but the
//! erased ones, into a fresh database), makes it current, and deletes the old generation's
//! files: the erased bytes leave the disk, not just the index. That costs a copy of the
//! disclosures per erasure, which is rare; reads and writes never wait for it but while the
//! generations swap.
//!
//! Layout: `<dir>/CURRENT` names the generation (`gen-<n>`), written atomically; any other
//! `gen-*` directory is a leftover of an erasure cut short, removed on open.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard};

use accord_domain::personal::{Digest, Disclosure};

use crate::{Disclosed, LogError};

const CURRENT: &str = "CURRENT";

#[derive(Debug)]
pub(super) struct SledDisclosures {
    dir: PathBuf,
    current: RwLock<Generation>,
}

#[derive(Debug)]
struct Generation {
    number: u64,
    db: sled::Db,
}

impl SledDisclosures {
    pub(super) fn open(dir: &Path) -> Result<Self, LogError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
        let number = match std::fs::read_to_string(dir.join(CURRENT)) {
            Ok(text) => text
                .trim()
                .strip_prefix("gen-")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| {
                    LogError::Misconfigured(format!(
                        "{} names no generation: {text:?}",
                        dir.join(CURRENT).display()
                    ))
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io(&dir.join(CURRENT), &e)),
        };
        remove_other_generations(dir, number)?;
        let db = open_db(&generation_dir(dir, number))?;
        Ok(Self {
            dir: dir.to_owned(),
            current: RwLock::new(Generation { number, db }),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, Generation> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores disclosures durably (one batch, one fsync).
    pub(super) fn put(&self, disclosures: &[&Disclosure]) -> Result<(), LogError> {
        if disclosures.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for d in disclosures {
            batch.insert(&d.digest().0[..], d.as_json().as_bytes());
        }
        let current = self.read();
        current
            .db
            .apply_batch(batch)
            .and_then(|()| current.db.flush().map(|_| ()))
            .map_err(|e| sled_error(&e))
    }

    pub(super) fn get(&self, digests: &[Digest]) -> Result<Disclosed, LogError> {
        let current = self.read();
        let mut out = HashMap::with_capacity(digests.len());
        for d in digests {
            if let Some(bytes) = current.db.get(d.0).map_err(|e| sled_error(&e))? {
                out.insert(*d, crate::read_disclosure(d, &bytes)?);
            }
        }
        Ok(out)
    }

    /// Every disclosure, in digest order.
    pub(super) fn all(&self) -> Result<Vec<Disclosure>, LogError> {
        let current = self.read();
        current
            .db
            .iter()
            .map(|kv| {
                let (k, v) = kv.map_err(|e| sled_error(&e))?;
                let digest =
                    Digest(
                        k.as_ref()
                            .try_into()
                            .map_err(|_| LogError::CorruptDisclosure {
                                key: format!("{k:?}"),
                                message: "the key is not a 32-byte digest".into(),
                            })?,
                    );
                crate::read_disclosure(&digest, &v)
            })
            .collect()
    }

    /// Erases the disclosures of `digests`: a new generation without them replaces the current
    /// one, whose files are deleted.
    pub(super) fn erase(&self, digests: &BTreeSet<Digest>) -> Result<(), LogError> {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !digests
            .iter()
            .any(|d| current.db.contains_key(d.0).unwrap_or(true))
        {
            return Ok(());
        }
        let number = current.number + 1;
        let next_dir = generation_dir(&self.dir, number);
        // A leftover of an erasure cut short at this very number.
        remove_dir(&next_dir)?;
        let next = open_db(&next_dir)?;
        let mut batch = sled::Batch::default();
        for kv in current.db.iter() {
            let (k, v) = kv.map_err(|e| sled_error(&e))?;
            let erased =
                <[u8; 32]>::try_from(k.as_ref()).is_ok_and(|k| digests.contains(&Digest(k)));
            if !erased {
                batch.insert(k, v);
            }
        }
        next.apply_batch(batch)
            .and_then(|()| next.flush().map(|_| ()))
            .map_err(|e| sled_error(&e))?;
        write_atomically(&self.dir.join(CURRENT), &format!("gen-{number}\n"))?;
        let old = std::mem::replace(&mut *current, Generation { number, db: next });
        let old_dir = generation_dir(&self.dir, old.number);
        drop(old);
        remove_dir(&old_dir)
    }
}

fn generation_dir(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("gen-{number}"))
}

fn open_db(dir: &Path) -> Result<sled::Db, LogError> {
    sled::Config::new()
        .path(dir)
        .open()
        .map_err(|e| sled_error(&e))
}

fn remove_other_generations(dir: &Path, keep: u64) -> Result<(), LogError> {
    let keep = format!("gen-{keep}");
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, &e))? {
        let entry = entry.map_err(|e| io(dir, &e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("gen-") && name != keep {
            remove_dir(&entry.path())?;
        }
    }
    Ok(())
}

fn remove_dir(dir: &Path) -> Result<(), LogError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(dir, &e)),
    }
}

/// Writes `text` to `path` so that a crash leaves the old or the new content, never a mix.
fn write_atomically(path: &Path, text: &str) -> Result<(), LogError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, &e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| io(&tmp, &e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, &e))?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(parent, &e))?;
    }
    Ok(())
}

fn sled_error(e: &sled::Error) -> LogError {
    LogError::Unavailable(format!("disclosure store: {e}"))
}

fn io(path: &Path, e: &std::io::Error) -> LogError {
    LogError::Unavailable(format!("disclosure store {}: {e}", path.display()))
}
