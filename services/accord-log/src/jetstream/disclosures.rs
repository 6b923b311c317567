//! The JetStream backend's disclosures: the key-value bucket `ACCORD_DISCLOSURES` (stream
//! `KV_ACCORD_DISCLOSURES`), key = digest, value = disclosure bytes.
//!
//! Each disclosure is *created*, never overwritten, so no older copy of it lingers as a message
//! the server removed but did not erase. An erasure deletes the key's message with
//! `STREAM.MSG.DELETE` without `no_erase`: the server overwrites its bytes in the store file
//! before it lets go of them. Only the ledger's NATS user may call that API on this stream
//! (deploy/nats.conf).

use std::collections::{BTreeSet, HashMap};

use accord_domain::personal::{Digest, Disclosure};
use async_nats::jetstream::{
    self,
    kv::{self, CreateErrorKind},
    stream::StorageType,
};
use futures::{StreamExt, TryStreamExt};

use crate::{Disclosed, LogError};

/// The bucket of disclosures.
pub const BUCKET: &str = "ACCORD_DISCLOSURES";
/// Requests to the bucket in flight at once when many are asked for.
const IN_FLIGHT: usize = 64;

#[derive(Debug, Clone)]
pub(super) struct KvDisclosures {
    kv: kv::Store,
}

impl KvDisclosures {
    /// Opens the bucket, creating it (with the event stream's replicas) when it is missing.
    pub(super) async fn open(js: &jetstream::Context, replicas: usize) -> Result<Self, LogError> {
        let kv = match js.get_key_value(BUCKET).await {
            Ok(kv) => kv,
            Err(_) => {
                let config = kv::Config {
                    bucket: BUCKET.into(),
                    description: "accord: personal values, erasable (docs/domain.md)".into(),
                    history: 1,
                    storage: StorageType::File,
                    num_replicas: replicas,
                    ..Default::default()
                };
                match js.create_key_value(config).await {
                    Ok(kv) => kv,
                    // Another process created it meanwhile.
                    Err(_) => js
                        .get_key_value(BUCKET)
                        .await
                        .map_err(|e| unavailable(&e))?,
                }
            }
        };
        Ok(Self { kv })
    }

    /// Stores disclosures, all at once; one already there (a retried append) stays as it is.
    pub(super) async fn put(&self, disclosures: &[Disclosure]) -> Result<(), LogError> {
        let entries: Vec<(String, bytes::Bytes)> = disclosures
            .iter()
            .map(|d| {
                let value = bytes::Bytes::copy_from_slice(d.as_json().as_bytes());
                (d.digest().to_string(), value)
            })
            .collect();
        futures::stream::iter(entries)
            .map(|(key, value)| async move {
                match self.kv.create(key, value).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Ok(()),
                    Err(e) => Err(unavailable(&e)),
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await
    }

    pub(super) async fn get(&self, digests: &[Digest]) -> Result<Disclosed, LogError> {
        let found: Vec<Option<(Digest, Disclosure)>> = futures::stream::iter(digests.to_vec())
            .map(|d| async move {
                match self.kv.get(d.to_string()).await {
                    Ok(Some(bytes)) => crate::read_disclosure(&d, &bytes).map(|x| Some((d, x))),
                    Ok(None) => Ok(None),
                    Err(e) => Err(unavailable(&e)),
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect::<HashMap<_, _>>())
    }

    /// Every disclosure the bucket holds.
    pub(super) async fn all(&self) -> Result<Vec<Disclosure>, LogError> {
        let keys: Vec<String> = match self.kv.keys().await {
            Ok(keys) => keys.try_collect().await.map_err(|e| unavailable(&e))?,
            Err(e) => return Err(unavailable(&e)),
        };
        let digests = keys
            .iter()
            .map(|k| {
                k.parse::<Digest>()
                    .map_err(|e| LogError::CorruptDisclosure {
                        key: k.clone(),
                        message: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut found: Vec<Disclosure> = self.get(&digests).await?.into_values().collect();
        found.sort_by_key(Disclosure::digest);
        Ok(found)
    }

    /// Erases each disclosure's message, its bytes overwritten in the store.
    pub(super) async fn erase(&self, digests: &BTreeSet<Digest>) -> Result<(), LogError> {
        futures::stream::iter(digests.iter().copied())
            .map(|d| async move {
                let Some(entry) = self
                    .kv
                    .entry(d.to_string())
                    .await
                    .map_err(|e| unavailable(&e))?
                else {
                    return Ok(());
                };
                if entry.operation != kv::Operation::Put {
                    return Ok(());
                }
                self.kv
                    .stream
                    .delete_message(entry.revision)
                    .await
                    .map(drop)
                    .map_err(|e| unavailable(&e))
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> LogError {
    LogError::Unavailable(format!("disclosure bucket {BUCKET}: {e}"))
}
