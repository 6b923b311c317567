//! Figures 10 and 11 (docs/benchmarks.md): signed acts, on JetStream.
//!
//! - 10, signed append: figure 1's ledger path with every commit sealed and signed by its org
//!   (prepared before the clock starts, as each org's client would have: the figure is the
//!   ledger's path, which opens the disclosures, recomputes the signed message and verifies the
//!   signature), against figure 1's plain append in the same run on the same server.
//! - 11, verify: `verify_log` of the whole stream (one pass: each chain link, every signature
//!   in ed25519 batches verified on every core while the reading goes on), against the raw
//!   ordered-consumer replay of the same stream (figure 3's baseline).

use std::sync::Arc;
use std::time::Instant;

use accord_domain::{EventInput, PartnershipId, Settings};
use accord_ledger::{Ledger, RecordRequest, SignedRequest};
use accord_log::jetstream::{JetStreamLog, StreamSettings};
use accord_log::{EventLog, Verification, verify_log};
use anyhow::{Result, bail};
use ed25519_dalek::SigningKey;
use nats_process::NatsServer;

use crate::bench::{
    Figure, ledger_append, meeting, proposal, rate, raw_ordered_replay, record_concurrently,
};

pub(crate) async fn figures_10_11(
    bin: &std::path::Path,
    extra: &str,
    partnerships: u64,
    commits: u64,
) -> Result<()> {
    let server = NatsServer::start_binary(bin, extra)?;
    let client = async_nats::connect(server.url()).await?;
    let log: Arc<dyn EventLog> =
        Arc::new(JetStreamLog::open(client.clone(), &StreamSettings::default()).await?);
    let plain = ledger_append(log.clone(), partnerships, commits).await?;
    let (signed, ids) = signed_append(log.clone(), partnerships, commits).await?;
    Figure {
        name: "10 signed append (jetstream, ledger path)",
        unit: "commits/s",
        value: signed,
        baseline: plain,
        target: Some(0.8),
    }
    .print();

    let raw = raw_ordered_replay(&client).await?;
    let verified = verify_everything(log, &ids).await?;
    Figure {
        name: "11 verify, signed (jetstream, one pass)",
        unit: "events/s",
        value: verified,
        baseline: raw,
        target: Some(0.5),
    }
    .print();
    Ok(())
}

/// Each partnership proposed, acme's key registered (signed), then `each` commits of acme,
/// each sealed and signed before the clock starts; gives commits/s and the partnerships.
async fn signed_append(
    log: Arc<dyn EventLog>,
    partnerships: u64,
    each: u64,
) -> Result<(f64, Vec<PartnershipId>)> {
    let ledger = Arc::new(Ledger::new(log, Settings::default()));
    let key = SigningKey::from_bytes(&[7; 32]);
    let ids: Vec<PartnershipId> = (0..partnerships)
        .map(|i| PartnershipId::parse(&format!("signed-{i}")))
        .collect::<Result<_, _>>()?;
    let opening: Vec<Vec<RecordRequest>> = ids
        .iter()
        .map(|p| {
            let registration = registration(&key);
            Ok(vec![
                unsigned(p, proposal())?,
                signed(&key, p, "register", registration)?,
            ])
        })
        .collect::<Result<_>>()?;
    record_concurrently(&ledger, opening).await?;
    let requests: Vec<Vec<RecordRequest>> = ids
        .iter()
        .map(|p| {
            (0..each)
                .map(|n| signed(&key, p, &format!("m{n}"), meeting(n)))
                .collect::<Result<_>>()
        })
        .collect::<Result<_>>()?;
    let started = Instant::now();
    record_concurrently(&ledger, requests).await?;
    Ok((rate(partnerships * each, started.elapsed()), ids))
}

fn registration(key: &SigningKey) -> serde_json::Value {
    let public = accord_domain::signing::Base64(key.verifying_key().to_bytes());
    serde_json::json!({"type": "org_key_registered", "occurred_at": "2026-01-06T09:00:00Z",
        "actor": {"org": "acme"},
        "data": {"org": "acme", "key_id": accord_domain::signing::KeyId::of(&public.0),
                 "public_key": public}})
}

fn unsigned(p: &PartnershipId, event: serde_json::Value) -> Result<RecordRequest> {
    Ok(RecordRequest {
        partnership_id: p.clone(),
        events: vec![serde_json::from_value::<EventInput>(event)?],
        if_match: None,
        idempotency_key: None,
        signed: None,
    })
}

fn signed(
    key: &SigningKey,
    p: &PartnershipId,
    idempotency_key: &str,
    event: serde_json::Value,
) -> Result<RecordRequest> {
    let events = vec![serde_json::from_value::<EventInput>(event)?];
    let (events, signed) = SignedRequest::seal_and_sign(key, p, idempotency_key, events)?;
    Ok(RecordRequest {
        partnership_id: p.clone(),
        events,
        if_match: None,
        idempotency_key: Some(idempotency_key.to_owned()),
        signed: Some(signed),
    })
}

/// Verifies the whole log in one pass (`verify_log`): every chain, every signature; gives
/// events/s.
async fn verify_everything(log: Arc<dyn EventLog>, signed: &[PartnershipId]) -> Result<f64> {
    let started = Instant::now();
    let verified = verify_log(&*log).await?;
    let took = started.elapsed();
    let mut events = 0u64;
    for (p, v) in &verified {
        match v {
            Verification::Ok {
                commits,
                signatures,
                ..
            } if signatures.holds() => events += *commits as u64,
            other => bail!("{p} does not verify: {other:?}"),
        }
    }
    let checked: usize = signed
        .iter()
        .filter_map(|p| match verified.get(p) {
            Some(Verification::Ok { signatures, .. }) => Some(signatures.signed),
            _ => None,
        })
        .sum();
    if checked == 0 {
        bail!("no signature was checked");
    }
    Ok(rate(events, took))
}
