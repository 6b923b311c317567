//! Signing on the client (`record --key`, `import --key`, the demo; docs/domain.md, "Signed
//! acts"): an org's key from its file, the commit sealed and signed with it
//! (`SignedRequest::seal_and_sign`), and the body sent as `{"events", "disclosures",
//! "signature"}`.

use std::path::Path;

use accord_domain::signing::{Base64, KeyId};
use accord_domain::{EventInput, OrgId, PartnershipId};
use accord_ledger::SignedRequest;
use anyhow::{Context, Result, bail};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

/// An org's signing key, read from its file.
pub(crate) struct Signer {
    key: SigningKey,
    key_id: KeyId,
}

impl Signer {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        Ok(Self::new(accord_ledger::key_file::read(path)?))
    }

    /// An org key held in memory (the demo's).
    pub(crate) fn new(key: SigningKey) -> Self {
        let key_id = KeyId::of(key.verifying_key().as_bytes());
        Self { key, key_id }
    }

    /// The registration of this key by `org`, made at `occurred_at` (RFC 3339).
    pub(crate) fn registration(&self, org: &OrgId, occurred_at: &str) -> Value {
        let public = Base64(self.key.verifying_key().to_bytes());
        json!({
            "type": "org_key_registered",
            "occurred_at": occurred_at,
            "actor": {"org": org},
            "data": {"org": org, "key_id": self.key_id, "public_key": public},
        })
    }

    /// Seals `events` (all acting for one org: the signer) and signs them for `partnership`
    /// under `idempotency_key`: the events as sent, and what goes beside them.
    pub(crate) fn seal_and_sign(
        &self,
        partnership: &PartnershipId,
        idempotency_key: &str,
        events: Vec<EventInput>,
    ) -> Result<(Vec<EventInput>, SignedRequest)> {
        Ok(SignedRequest::seal_and_sign(
            &self.key,
            partnership,
            idempotency_key,
            events,
        )?)
    }

    /// The signed body of a commit of `body` (one event or an array, as a POST takes), for
    /// `partnership` under `idempotency_key`.
    pub(crate) fn sign(
        &self,
        partnership: &str,
        idempotency_key: &str,
        body: &[u8],
    ) -> Result<Value> {
        let partnership = PartnershipId::parse(partnership)
            .map_err(|e| anyhow::anyhow!("the partnership: {e}"))?;
        let events: Vec<EventInput> = accord_http::parse_events(body)
            .map_err(|e| anyhow::anyhow!(crate::api::reason(e.status(), &e.body())))?;
        let (stored, signed) = self.seal_and_sign(&partnership, idempotency_key, events)?;
        Ok(signed.body(&stored))
    }
}

/// Makes an org's key pair: the private key in `out` (PKCS#8 PEM, owner-only), and the
/// `org_key_registered` event that registers its public half, to record signed with it.
pub(crate) fn new_key(org: &str, out: &Path) -> Result<Value> {
    let org = OrgId::parse(org).map_err(|e| anyhow::anyhow!("--org: {e}"))?;
    if out.exists() {
        bail!("{} exists: a key file is never overwritten", out.display());
    }
    let key = accord_ledger::key_file::create(out)
        .with_context(|| format!("writing {}", out.display()))?;
    let now = accord_domain::values::rfc3339::format(time::OffsetDateTime::now_utc());
    Ok(Signer::new(key).registration(&org, &now))
}
