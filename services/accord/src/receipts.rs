//! Receipts on the client: `record` and `import` keep the receipt of every append in a JSONL
//! file (`--receipts FILE`), and `verify --receipts FILE` proves that the log still holds every
//! receipted head (see `accord_ledger::receipt`).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use accord_domain::Hash;
use accord_ledger::receipt::{LedgerPublicKey, NotHeld, Receipt};
use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::api::{Server, all_partnerships, full_history, get_json};

/// Where a command keeps the receipts of its appends: one JSON line each, appended to the file.
#[derive(Debug)]
pub(crate) struct Keeper {
    file: std::fs::File,
    path: PathBuf,
}

impl Keeper {
    pub(crate) fn open(path: Option<&Path>) -> Result<Option<Self>> {
        path.map(|path| {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            Ok(Self {
                file,
                path: path.to_owned(),
            })
        })
        .transpose()
    }

    /// Keeps the receipt of an append's answer, on disk before the command goes on.
    pub(crate) fn keep(&mut self, answer: &Value) -> Result<()> {
        let receipt: Receipt = serde_json::from_value(answer["receipt"].clone())
            .context("the answer carries no receipt")?;
        let mut line = serde_json::to_vec(&receipt)?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// A receipt the log does not hold, or one that is not the ledger's.
#[derive(Debug)]
struct Unheld {
    line: usize,
    receipt: Option<Receipt>,
    why: String,
}

/// Checks every receipt of `path`: signed by the server's ledger key, and its head still in the
/// log at its revision. Prints what it found; exit 1 names the first receipt that does not hold.
pub(crate) async fn verify(
    server: &Server,
    client: &reqwest::Client,
    path: &Path,
    json_out: bool,
) -> Result<(ExitCode, Value)> {
    let key: LedgerPublicKey = match get_json(server, client, "/v1/ledger/key", &[]).await? {
        Ok(key) => serde_json::from_value(key).context("the server's ledger key")?,
        Err(code) => return Ok((code, Value::Null)),
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut unheld = Vec::new();
    let mut receipts: Vec<(usize, Receipt)> = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line_no = i + 1;
        match serde_json::from_str::<Receipt>(line) {
            Err(e) => unheld.push(Unheld {
                line: line_no,
                receipt: None,
                why: format!("not a receipt: {e}"),
            }),
            Ok(r) => match key.verify(&r) {
                Err(e) => unheld.push(Unheld {
                    line: line_no,
                    receipt: Some(r),
                    why: e.to_string(),
                }),
                Ok(()) => receipts.push((line_no, r)),
            },
        }
    }
    let known = match all_partnerships(server, client).await? {
        Ok(ids) => ids,
        Err(code) => return Ok((code, Value::Null)),
    };
    let mut heads: HashMap<String, BTreeMap<u64, Hash>> = HashMap::new();
    for (line, r) in &receipts {
        let p = r.partnership_id.to_string();
        if !heads.contains_key(&p) {
            let mut at = BTreeMap::new();
            if known.contains(&p) {
                let history = match full_history(server, client, &p, None).await? {
                    Ok(h) => h,
                    Err(code) => return Ok((code, Value::Null)),
                };
                for e in history["events"].as_array().into_iter().flatten() {
                    let hash = serde_json::from_value::<Hash>(e["hash"].clone()).ok();
                    if let (Some(revision), Some(hash)) = (e["revision"].as_u64(), hash) {
                        at.insert(revision, hash);
                    }
                }
            }
            heads.insert(p.clone(), at);
        }
        let why = match r.held_by(heads[&p].get(&r.revision).copied()) {
            Ok(()) => continue,
            Err(e @ NotHeld::Another(_)) => e.to_string(),
            Err(e @ NotHeld::Missing) if known.contains(&p) => {
                let last = heads[&p].keys().next_back().copied().unwrap_or(0);
                format!("{e} (its last is {last})")
            }
            Err(NotHeld::Missing) => "the log holds no such partnership".to_owned(),
        };
        unheld.push(Unheld {
            line: *line,
            receipt: Some(r.clone()),
            why,
        });
    }
    unheld.sort_by_key(|u| u.line);
    let checked = text.lines().filter(|l| !l.trim().is_empty()).count();
    let first = unheld.first();
    let describe = |u: &Unheld| match &u.receipt {
        Some(r) => format!(
            "line {}: {} at revision {} (head {}): {}",
            u.line, r.partnership_id, r.revision, r.head, u.why
        ),
        None => format!("line {}: {}", u.line, u.why),
    };
    let summary = json!({
        "file": path,
        "ledger_key": key.key_id,
        "checked": checked,
        "not_held": unheld.len(),
        "first_not_held": first.map(describe),
    });
    if !json_out {
        match first {
            None => println!(
                "receipts of {}: {checked} checked, every head still in the log (signed by ledger key {})",
                path.display(),
                key.key_id
            ),
            Some(u) => println!(
                "receipts of {}: {} of {checked} NOT HELD; the first: {}",
                path.display(),
                unheld.len(),
                describe(u)
            ),
        }
    }
    let code = if unheld.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    Ok((code, summary))
}
