//! Figures 10 and 11 (docs/benchmarks.md): signed acts, on JetStream.
//!
//! - 10, signed append, in rounds (`--rounds`), each on fresh servers, the two paths in turn
//!   first: every commit sealed and signed by its org (prepared before the clock starts, as each
//!   org's client would have: the figure is the ledger's path, which opens the disclosures,
//!   recomputes the signed message and verifies the signature) against plain commits, through
//!   figure 1's ledger path in-process (default sync) and through figure 2's `accord up` over
//!   HTTP (`sync_interval: always`, 64 writers). The figure is the round of the median ratio.
//! - 11, verify: `verify_log` of the last round's stream (one pass: each chain link, every
//!   signature in ed25519 batches verified on every core while the reading goes on), against
//!   the raw ordered-consumer replay of the same stream (figure 3's baseline).

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
use crate::bench_up::{Post, posts_through_up};

/// Writers of figure 10 over HTTP, as figure 2's larger run.
const HTTP_WRITERS: u64 = 64;

pub(crate) async fn figures_10_11(
    bin: &std::path::Path,
    extra: &str,
    partnerships: u64,
    commits: u64,
    rounds: u64,
) -> Result<()> {
    // Each round measures both paths on a fresh server, the plain one first in the first, third,
    // ... round and the signed one first in the others; the figure is the median round.
    let mut in_process = Vec::new();
    let mut last = None;
    for round in 0..rounds {
        let server = NatsServer::start_binary(bin, extra)?;
        let client = async_nats::connect(server.url()).await?;
        let log: Arc<dyn EventLog> =
            Arc::new(JetStreamLog::open(client.clone(), &StreamSettings::default()).await?);
        let (plain, (signed, ids)) = if round % 2 == 0 {
            let plain = ledger_append(log.clone(), partnerships, commits).await?;
            (
                plain,
                signed_append(log.clone(), partnerships, commits).await?,
            )
        } else {
            let signed = signed_append(log.clone(), partnerships, commits).await?;
            (
                ledger_append(log.clone(), partnerships, commits).await?,
                signed,
            )
        };
        in_process.push(Round { signed, plain });
        last = Some((server, client, log, ids));
    }
    print_median("10 signed append (jetstream, ledger path)", in_process);

    let mut over_http = Vec::new();
    for round in 0..rounds {
        let (plain, signed) = if round % 2 == 0 {
            let plain = http_append(bin, partnerships, commits, None).await?;
            (
                plain,
                http_append(bin, partnerships, commits, Some(&org_key())).await?,
            )
        } else {
            let signed = http_append(bin, partnerships, commits, Some(&org_key())).await?;
            (http_append(bin, partnerships, commits, None).await?, signed)
        };
        over_http.push(Round { signed, plain });
    }
    print_median("10 signed append (accord up, 64 writers)", over_http);

    let Some((_server, client, log, ids)) = last else {
        bail!("figures 10 and 11 take at least one round");
    };
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

/// One round of figure 10: signed and plain commits a second.
struct Round {
    signed: f64,
    plain: f64,
}

/// Prints each round's ratio, then the round of the median ratio as the figure.
fn print_median(name: &'static str, mut rounds: Vec<Round>) {
    rounds.sort_by(|a, b| (a.signed / a.plain).total_cmp(&(b.signed / b.plain)));
    let ratios: Vec<String> = rounds
        .iter()
        .map(|r| format!("{:.2}", r.signed / r.plain))
        .collect();
    println!("{name}: ratio by round, sorted: {}", ratios.join(", "));
    if let Some(median) = rounds.get(rounds.len() / 2) {
        Figure {
            name,
            unit: "commits/s",
            value: median.signed,
            baseline: median.plain,
            target: Some(0.8),
        }
        .print();
    }
}

/// acme's key in the benchmark.
fn org_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// Figure 2's path (`accord up` on a fresh durable server, 64 writers): `partnerships` proposed,
/// with acme's key registered when `key` is given, then `each` commits of acme to every one,
/// each sealed and signed with `key` before the clock starts, or plain.
async fn http_append(
    bin: &std::path::Path,
    partnerships: u64,
    each: u64,
    key: Option<&SigningKey>,
) -> Result<f64> {
    let path = |p: u64| format!("/v1/partnerships/http-{p:05}/events");
    let mut opening = Vec::new();
    let mut commits = Vec::new();
    for p in 0..partnerships {
        let id = PartnershipId::parse(&format!("http-{p:05}"))?;
        opening.push(Post::new(path(p), &proposal(), None));
        let post = |idempotency_key: String, event: serde_json::Value| match key {
            Some(key) => {
                let events = vec![serde_json::from_value::<EventInput>(event)?];
                let (events, signed) =
                    SignedRequest::seal_and_sign(key, &id, &idempotency_key, events)?;
                Ok(Post::new(
                    path(p),
                    &signed.body(&events),
                    Some(idempotency_key),
                ))
            }
            None => anyhow::Ok(Post::new(path(p), &event, None)),
        };
        if let Some(key) = key {
            opening.push(post("register".to_owned(), registration(key))?);
        }
        commits.push(
            (0..each)
                .map(|n| post(format!("m{n}"), meeting(n)))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    posts_through_up(bin, &["up"], opening, commits, HTTP_WRITERS).await
}

/// Each partnership proposed, acme's key registered (signed), then `each` commits of acme,
/// each sealed and signed before the clock starts; gives commits/s and the partnerships.
async fn signed_append(
    log: Arc<dyn EventLog>,
    partnerships: u64,
    each: u64,
) -> Result<(f64, Vec<PartnershipId>)> {
    let ledger = Arc::new(Ledger::new(log, Settings::default()));
    let key = org_key();
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
