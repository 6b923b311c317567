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
    stream::{self, DiscardPolicy, StorageType},
};
use futures::{StreamExt, TryStreamExt};

use crate::{Disclosed, LogError};

/// The bucket of disclosures.
pub const BUCKET: &str = "ACCORD_DISCLOSURES";
/// The bucket's stream.
const STREAM: &str = "KV_ACCORD_DISCLOSURES";
/// Requests to the bucket in flight at once when many are asked for.
const IN_FLIGHT: usize = 64;

#[derive(Debug, Clone)]
pub(super) struct KvDisclosures {
    kv: kv::Store,
}

impl KvDisclosures {
    /// Opens the bucket, creating its stream (with the event stream's replicas) when it is
    /// missing. The stream is made by hand rather than by `create_key_value`, which asks for the
    /// account's limits in a form a 2.9 server does not answer and sets `deny_delete`, which
    /// would forbid the erasing delete.
    pub(super) async fn open(js: &jetstream::Context, replicas: usize) -> Result<Self, LogError> {
        let have = match js.get_stream(STREAM).await {
            Ok(s) => s.cached_info().config.clone(),
            Err(e) if super::is_stream_not_found(&e) => {
                match js.create_stream(config(replicas)).await {
                    Ok(s) => s.cached_info().config.clone(),
                    // Another process created it meanwhile: check what it made.
                    Err(created) => js
                        .get_stream(STREAM)
                        .await
                        .map_err(|e| unavailable(&format!("{created}; then {e}")))?
                        .cached_info()
                        .config
                        .clone(),
                }
            }
            Err(e) => return Err(unavailable(&e)),
        };
        if have.deny_delete {
            return Err(LogError::Misconfigured(format!(
                "stream {STREAM} denies deletes, so no personal value could be erased: \
                 set deny_delete to false (docs/operations.md)"
            )));
        }
        let kv = js
            .get_key_value(BUCKET)
            .await
            .map_err(|e| unavailable(&e))?;
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

/// The bucket's stream as `create_key_value` would make it (one value per key, direct gets),
/// except that deletes are allowed while purges and roll-ups are not.
fn config(replicas: usize) -> stream::Config {
    stream::Config {
        name: STREAM.into(),
        description: Some("accord: personal values, erasable (docs/domain.md)".into()),
        subjects: vec![format!("$KV.{BUCKET}.>")],
        max_messages_per_subject: 1,
        storage: StorageType::File,
        num_replicas: replicas.max(1),
        discard: DiscardPolicy::New,
        allow_direct: true,
        deny_delete: false,
        deny_purge: true,
        ..Default::default()
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> LogError {
    LogError::Unavailable(format!("disclosure bucket {BUCKET}: {e}"))
}
