//! Signing on the client (`record --key`, `import --key`; docs/domain.md, "Signed acts"): the
//! events are sealed here (each personal value a digest of a disclosure with a fresh salt), the
//! JCS form of the sealed events, the partnership and the idempotency key signed with the org's
//! key, and the body sent as `{"events", "disclosures", "signature"}`.

use std::path::Path;

use accord_domain::personal::seal_inputs;
use accord_domain::signing::{self, Base64, CommitSignature, KeyId};
use accord_domain::{EventInput, PartnershipId};
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
        let key = accord_ledger::key_file::read(path)?;
        let key_id = KeyId::of(key.verifying_key().as_bytes());
        Ok(Self { key, key_id })
    }

    /// The signed body of a commit of `body` (one event or an array, as a POST takes), for
    /// `partnership` under `idempotency_key`. The events must all act for one org: the signer.
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
        let Some(org) = events.first().map(|e| e.actor.org.clone()) else {
            bail!("a commit holds at least one event");
        };
        if events.iter().any(|e| e.actor.org != org) {
            bail!("a signed commit acts for one org: its events act for several");
        }
        let (stored, disclosures) = seal_inputs(events, &mut rand::random);
        // Signed as the log will store them (times in UTC), which is what the ledger checks.
        let stored = accord_proto::as_stored(&stored)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
        let message = signing::message(&partnership, idempotency_key, &stored);
        let signature = CommitSignature {
            org,
            key_id: self.key_id,
            sig: signing::sign(&self.key, &message),
        };
        Ok(json!({
            "events": stored,
            "disclosures": disclosures.iter().map(|d| d.as_json()).collect::<Vec<_>>(),
            "signature": signature,
        }))
    }
}

/// Makes an org's key pair: the private key in `out` (PKCS#8 PEM, owner-only), and the
/// `org_key_registered` event that registers its public half, to record signed with it.
pub(crate) fn new_key(org: &str, out: &Path) -> Result<Value> {
    let org = accord_domain::OrgId::parse(org).map_err(|e| anyhow::anyhow!("--org: {e}"))?;
    if out.exists() {
        bail!("{} exists: a key file is never overwritten", out.display());
    }
    let key = accord_ledger::key_file::create(out)
        .with_context(|| format!("writing {}", out.display()))?;
    let public = Base64(key.verifying_key().to_bytes());
    Ok(json!({
        "type": "org_key_registered",
        "occurred_at": accord_domain::values::rfc3339::format(time::OffsetDateTime::now_utc()),
        "actor": {"org": org},
        "data": {"org": org, "key_id": KeyId::of(&public.0), "public_key": public},
    }))
}
