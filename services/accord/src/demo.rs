//! `accord demo`: the worked example of the domain contract (docs/domain.md), recorded through the real ledger into a fresh
//! embedded store, then read back as an audit history and verified.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use accord_domain::models::{Axes, Model, ModelSettings};
use accord_projector::{FromLog, Projections, Projector};
use tokio_util::sync::CancellationToken;

use crate::signer::Signer;
use crate::terminal::Columns;
use accord_domain::event::ErasureBasis;
use accord_domain::{EventInput, ItemId, OrgId, PartnershipId, Payload, Settings};
use accord_ledger::receipt::{LedgerKey, Receipt};
use accord_ledger::{ForgetRequest, Ledger, RecordRequest};
use accord_log::embedded::EmbeddedLog;
use accord_log::{EventLog, Verification, verify_partnership};
use anyhow::{Context, Result};
use serde_json::{Value, json};

const MINUTES: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");

/// The sample partnerships of examples/, built into the binary so the demo runs anywhere.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "acme-stmary-unwilling-partner.jsonl",
        include_str!("../../../examples/acme-stmary-unwilling-partner.jsonl"),
    ),
    (
        "jointworks-riverside-bundled-coe.jsonl",
        include_str!("../../../examples/jointworks-riverside-bundled-coe.jsonl"),
    ),
    (
        "frontdoor-metro-carefirst-digital-front-door.jsonl",
        include_str!("../../../examples/frontdoor-metro-carefirst-digital-front-door.jsonl"),
    ),
    (
        "medai-lakeside-fomo-copycat.jsonl",
        include_str!("../../../examples/medai-lakeside-fomo-copycat.jsonl"),
    ),
    (
        "tinyrx-megahealth-over-reliance.jsonl",
        include_str!("../../../examples/tinyrx-megahealth-over-reliance.jsonl"),
    ),
];

/// One step of the story: what happened, in words, and the events that record it.
struct Step {
    says: &'static str,
    events: Vec<Value>,
}

fn event(at: &str, org: &str, kind: &str, data: Value) -> Value {
    json!({"type": kind, "occurred_at": at, "actor": {"org": org}, "data": data})
}

fn story() -> Vec<Step> {
    vec![
        Step {
            says: "acme (vendor) proposes a partnership to stmary (health system), and it goes live",
            events: vec![
                event(
                    "2026-01-05T09:00:00Z",
                    "acme",
                    "partnership_proposed",
                    json!({"parties": [
                        {"org": "acme", "name": "Acme Health", "kind": "vendor"},
                        {"org": "stmary", "name": "St Mary's Hospital", "kind": "health_system"}],
                      "vision": "cut readmissions after cardiac surgery by a third"}),
                ),
                event(
                    "2026-01-20T09:00:00Z",
                    "stmary",
                    "partnership_status_changed",
                    json!({"status": "active", "reason": "pilot contract signed"}),
                ),
            ],
        },
        Step {
            says: "acme requests meeting m1; it is scheduled and held, virtually, both orgs attending",
            events: vec![
                event(
                    "2026-02-02T10:00:00Z",
                    "acme",
                    "meeting_requested",
                    json!({"meeting_id": "m1", "requested_by_org": "acme", "purpose": "kick-off"}),
                ),
                event(
                    "2026-02-03T10:00:00Z",
                    "stmary",
                    "meeting_scheduled",
                    json!({"meeting_id": "m1", "starts_at": "2026-02-10T15:00:00Z", "host_org": "stmary"}),
                ),
                event(
                    "2026-02-10T16:00:00Z",
                    "acme",
                    "meeting_held",
                    json!({"meeting_id": "m1", "in_person": false, "attendees": [
                        {"org": "acme", "person": "Ana Ruiz", "seniority": "manager"},
                        {"org": "stmary", "person": "Dr Sam Lee", "seniority": "exec"}]}),
                ),
            ],
        },
        Step {
            says: "acme proposes a follow-up",
            events: vec![event(
                "2026-02-11T09:00:00Z",
                "acme",
                "follow_up_proposed",
                json!({"after_meeting_id": "m1", "by_org": "acme"}),
            )],
        },
        Step {
            says: "acme requests m2; it is scheduled, and stmary cancels it with 24 h notice",
            events: vec![
                event(
                    "2026-03-01T09:00:00Z",
                    "acme",
                    "meeting_requested",
                    json!({"meeting_id": "m2", "requested_by_org": "acme", "purpose": "roadmap"}),
                ),
                event(
                    "2026-03-02T09:00:00Z",
                    "acme",
                    "meeting_scheduled",
                    json!({"meeting_id": "m2", "starts_at": "2026-03-10T15:00:00Z", "host_org": "acme"}),
                ),
                event(
                    "2026-03-09T15:00:00Z",
                    "stmary",
                    "meeting_cancelled",
                    json!({"meeting_id": "m2", "by_org": "stmary", "notice_hours": 24, "reason": "board meeting"}),
                ),
            ],
        },
    ]
}

pub(crate) async fn run(data_dir: Option<PathBuf>, reports: &Path) -> Result<()> {
    let temp;
    let dir = match data_dir {
        Some(dir) => dir,
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let log: Arc<dyn EventLog> =
        Arc::new(EmbeddedLog::open(&dir).with_context(|| format!("opening {}", dir.display()))?);
    let ledger = Ledger::new(log.clone(), Settings::default());
    // The key `accord up` signs receipts with; the demo's is its own, for this run only.
    let key = LedgerKey::generate();
    let mut receipts = Vec::new();
    let p = PartnershipId::parse("acme-stmary")?;
    println!("accord demo: the worked example of the domain contract, recorded through the ledger");
    println!("store: embedded, {}\n", dir.display());

    let mut follow_up = None;
    for step in story() {
        let events = step
            .events
            .into_iter()
            .map(serde_json::from_value::<EventInput>)
            .collect::<Result<Vec<_>, _>>()?;
        let appended = ledger
            .record(RecordRequest {
                partnership_id: p.clone(),
                events,
                if_match: None,
                idempotency_key: None,
                signed: None,
            })
            .await?;
        if step.says.starts_with("acme proposes a follow-up") {
            follow_up = appended.event_ids.first().copied();
        }
        receipts.push(key.receipt(
            p.clone(),
            appended.position,
            appended.hash,
            appended.recorded_at,
        ));
        println!("  {:<85} revision {}", step.says, appended.position);
    }

    println!("\nwhat the ledger refuses, and why (nothing is appended):");
    let refusals = [
        event(
            "2026-03-12T09:00:00Z",
            "acme",
            "meeting_held",
            json!({"meeting_id": "m9", "in_person": false,
                   "attendees": [{"org": "acme", "person": "Ana Ruiz", "seniority": "manager"}]}),
        ),
        event(
            "2026-03-12T09:00:00Z",
            "globex",
            "introduction_made",
            json!({"by_org": "globex", "introduced_party": "Mercy", "to_org": "acme"}),
        ),
    ];
    for bad in refusals {
        let refused = ledger
            .record(RecordRequest {
                partnership_id: p.clone(),
                events: vec![serde_json::from_value(bad)?],
                if_match: None,
                idempotency_key: None,
                signed: None,
            })
            .await;
        match refused {
            Err(e) => println!("  refused: {e}"),
            Ok(a) => anyhow::bail!(
                "the ledger accepted an invalid event at revision {}",
                a.position
            ),
        }
    }

    let follow_up = follow_up.context("the follow-up was recorded")?;
    let retraction = serde_json::from_value(event(
        "2026-03-15T09:00:00Z",
        "acme",
        "event_retracted",
        json!({"target_event_id": follow_up.to_string(), "reason": "the follow-up was logged for the wrong partnership"}),
    ))?;
    let request = RecordRequest {
        partnership_id: p.clone(),
        events: vec![retraction],
        if_match: None,
        idempotency_key: Some("retract-follow-up-1".into()),
        signed: None,
    };
    let first = ledger.record(request.clone()).await?;
    let retry = ledger.record(request).await?;
    receipts.push(key.receipt(p.clone(), first.position, first.hash, first.recorded_at));
    println!(
        "\nthe follow-up is retracted at revision {}; a retry with the same idempotency key answers revision {} again (replayed: {})",
        first.position, retry.position, retry.replayed
    );

    forget_a_person(&ledger, &*log, &p, &key, &mut receipts).await?;
    sign_acts(&ledger, &p, &key, &mut receipts).await?;

    println!("\naudit history of {p}:");
    let mut rows = Vec::new();
    for stored in log.read_partnership(&p, 0).await? {
        let (sealed, commit) = stored.decode()?;
        for e in commit.events.iter().map(|e| e.stored()) {
            rows.push(vec![
                stored.position.to_string(),
                e.occurred_at.format(MINUTES)?,
                e.recorded_at.format(MINUTES)?,
                e.actor.org.to_string(),
                e.event_type().as_str().to_owned(),
                format!("{}…", &sealed.hash.to_hex()[..12]),
            ]);
        }
    }
    print!(
        "{}",
        Columns {
            header: &["rev", "occurred", "recorded", "org", "type", "hash"],
            right: &[0],
        }
        .render(rows)
    );
    match verify_partnership(&*log, &p).await? {
        Verification::Ok {
            commits,
            head,
            signatures,
        } if signatures.holds() => println!(
            "\nhash chain of {p}: {commits} commits, every link holds (head {}…); {} signed, every signature holds",
            &head.hash.to_hex()[..12],
            signatures.signed
        ),
        Verification::Ok { signatures, .. } => {
            anyhow::bail!("signatures do not hold: {signatures:?}")
        }
        Verification::Broken(b) => anyhow::bail!("{b}"),
    }
    check_receipts(&*log, &key, &receipts).await?;
    let samples = samples(&ledger, &*log).await?;
    let projections = summaries(log, &dir, &p, &samples).await?;
    write_reports(&projections, &samples, reports)
}

/// Dr Sam Lee asks St Mary to have their name erased: the ledger records the erasure, erases the
/// values, and the meeting they attended reads `[erased]` where the name was.
async fn forget_a_person(
    ledger: &Ledger,
    log: &dyn EventLog,
    p: &PartnershipId,
    key: &LedgerKey,
    receipts: &mut Vec<Receipt>,
) -> Result<()> {
    let stmary = OrgId::parse("stmary")?;
    let forgotten = ledger
        .forget(&ForgetRequest {
            person: "Dr Sam Lee".into(),
            org: Some(stmary.clone()),
            partnership_id: Some(p.clone()),
            requested_by_org: stmary,
            basis: ErasureBasis::DataSubjectRequest,
            request_ref: Some(ItemId::parse("dsr-1")?),
        })
        .await?;
    for e in &forgotten.erased {
        let a = &e.appended;
        receipts.push(key.receipt(p.clone(), a.position, a.hash, a.recorded_at));
        println!(
            "\nDr Sam Lee asks stmary to erase their name: {} value(s) erased, the erasure recorded at revision {} (who asked, why, which digests; no name)",
            e.values, a.position
        );
    }
    let stored = log.read_partnership(p, 0).await?;
    for (_, commit) in accord_log::join_commits(log, &stored).await? {
        for e in &commit.events {
            if let Payload::MeetingHeld(m) = &e.payload {
                let names: Vec<&str> = m.attendees.iter().map(|a| a.person.as_str()).collect();
                println!(
                    "  the attendees of meeting {} now read: {}",
                    m.meeting_id,
                    names.join(", ")
                );
            }
        }
    }
    Ok(())
}

/// acme registers a signing key and signs its next act; an unsigned act of acme is refused.
async fn sign_acts(
    ledger: &Ledger,
    p: &PartnershipId,
    key: &LedgerKey,
    receipts: &mut Vec<Receipt>,
) -> Result<()> {
    let acme = OrgId::parse("acme")?;
    let signer = Signer::new(ed25519_dalek::SigningKey::from_bytes(&rand::random()));
    let registration = signer.registration(&acme, "2026-03-20T09:00:00Z");
    let mut tag = event(
        "2026-03-20T10:00:00Z",
        "acme",
        "communication_tagged",
        json!({"org": "acme", "class": "inclusive", "doc_ref": "newsletter-2026-03"}),
    );
    tag["note"] = json!("the joint newsletter speaks of our patients");
    let mut revisions = Vec::new();
    for (n, e) in [registration, tag.clone()].into_iter().enumerate() {
        let idempotency_key = format!("demo-signed-{n}");
        let (events, signed) =
            signer.seal_and_sign(p, &idempotency_key, vec![serde_json::from_value(e)?])?;
        let a = ledger
            .record(RecordRequest {
                partnership_id: p.clone(),
                events,
                if_match: None,
                idempotency_key: Some(idempotency_key),
                signed: Some(signed),
            })
            .await?;
        receipts.push(key.receipt(p.clone(), a.position, a.hash, a.recorded_at));
        revisions.push(a.position.to_string());
    }
    println!(
        "\nacme registers a signing key and signs its next act (revisions {}): signed on the client, over the digests of its personal values",
        revisions.join(" and ")
    );
    let refused = ledger
        .record(RecordRequest {
            partnership_id: p.clone(),
            events: vec![serde_json::from_value(tag)?],
            if_match: None,
            idempotency_key: None,
            signed: None,
        })
        .await;
    match refused {
        Err(e) => println!("  an unsigned act of acme is refused: {e}"),
        Ok(a) => anyhow::bail!("an unsigned act was recorded at revision {}", a.position),
    }
    Ok(())
}

/// Checks the receipts of the worked example as `accord verify --receipts` does: each signed by
/// the ledger's key, each head still in the log at its revision.
async fn check_receipts(log: &dyn EventLog, key: &LedgerKey, receipts: &[Receipt]) -> Result<()> {
    let public = key.public();
    for r in receipts {
        public.verify(r)?;
        let at = log
            .read_partnership(&r.partnership_id, r.revision - 1)
            .await?
            .into_iter()
            .find(|c| c.position == r.revision)
            .map(|c| c.decode().map(|(sealed, _)| sealed.hash))
            .transpose()?;
        r.held_by(at)?;
    }
    println!(
        "receipts of its {} commits, signed by ledger key {}: every head is still in the log",
        receipts.len(),
        key.key_id()
    );
    Ok(())
}

/// Loads the sample partnerships through the ledger, shows each at a glance, and gives their ids.
async fn samples(ledger: &Ledger, log: &dyn EventLog) -> Result<Vec<PartnershipId>> {
    let mut ids = Vec::new();
    println!("\nthe sample partnerships of examples/, recorded through the same ledger:");
    let mut rows = Vec::new();
    for (name, text) in EXAMPLES {
        let mut partnership = None;
        for (n, line) in text.lines().enumerate() {
            let line = crate::client::parse_line(n + 1, line)
                .map_err(|e| anyhow::anyhow!("{name} line {}: {e}", n + 1))?;
            let events = accord_http::parse_events(line.body.to_string().as_bytes())
                .with_context(|| format!("{name} line {}", line.number))?;
            let p = PartnershipId::parse(&line.partnership_id)?;
            ledger
                .record(RecordRequest {
                    partnership_id: p.clone(),
                    events,
                    if_match: None,
                    idempotency_key: Some(line.idempotency_key),
                    signed: None,
                })
                .await
                .with_context(|| format!("{name} line {}", line.number))?;
            partnership = Some(p);
        }
        let p = partnership.context("an example holds at least one line")?;
        ids.push(p.clone());
        let summary = ledger
            .overview(&p)
            .await?
            .context("the partnership exists")?;
        let mut span = (None, None);
        for stored in log.read_partnership(&p, 0).await? {
            for e in stored.decode()?.1.events {
                let day = e.stored().occurred_at.date();
                span.0 = Some(span.0.map_or(day, |d: time::Date| d.min(day)));
                span.1 = Some(span.1.map_or(day, |d: time::Date| d.max(day)));
            }
        }
        let (commits, chain) = match verify_partnership(log, &p).await? {
            Verification::Ok { commits, .. } => (commits, "ok".to_owned()),
            Verification::Broken(b) => (0, format!("BROKEN at {}", b.position)),
        };
        rows.push(vec![
            p.to_string(),
            summary
                .parties
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            summary.status.map_or("proposed", |s| s.as_str()).to_owned(),
            commits.to_string(),
            summary.event_count.to_string(),
            match span {
                (Some(a), Some(b)) => format!("{a} → {b}"),
                _ => String::new(),
            },
            chain,
        ]);
    }
    print!(
        "{}",
        Columns {
            header: &[
                "partnership",
                "parties",
                "status",
                "commits",
                "events",
                "business time",
                "chain"
            ],
            right: &[3, 4],
        }
        .render(rows)
    );
    Ok(ids)
}

/// Runs the projector over the store until it has caught up, then prints each partnership's
/// summary as of its last recorded event; gives the projections.
async fn summaries(
    log: Arc<dyn EventLog>,
    dir: &Path,
    worked: &PartnershipId,
    samples: &[PartnershipId],
) -> Result<Projections> {
    let projections = Projections::open(
        &dir.join("projections"),
        Arc::new(FromLog::new(log.clone())),
    )?;
    let projector = Projector::new(log.clone(), projections.clone(), false)?;
    let status = projector.status();
    let stop = CancellationToken::new();
    let running = tokio::spawn(projector.run(stop.clone()));
    let head = log.last_position().await?;
    tokio::time::timeout(Duration::from_secs(60), status.caught_up_to(head))
        .await
        .context("the projector did not catch up within 60 s")?;
    stop.cancel();
    running.await??;
    println!(
        "\nthe projector folded all {head} commits into read models; the summary of each partnership now:"
    );
    let settings = ModelSettings::default();
    for p in std::iter::once(worked).chain(samples) {
        let (facts, axes) = facts_at_last(&projections, p)?;
        let summary = facts.evaluate(p, Model::Summary, axes, &settings)?;
        println!("\n{}", crate::show::render(p, &summary).trim_end());
    }
    Ok(projections)
}

/// A partnership's facts, and the axes of the end of its own history: everything recorded,
/// evaluated when its last event occurred (a sample's history ends long before it is imported).
fn facts_at_last(
    projections: &Projections,
    p: &PartnershipId,
) -> Result<(accord_projector::Facts, Axes)> {
    let facts = projections
        .facts(p)?
        .context("the projector knows every partnership")?;
    let last = |at: fn(&accord_domain::Event) -> time::OffsetDateTime| {
        facts
            .events
            .iter()
            .map(at)
            .max()
            .context("a partnership has events")
    };
    let axes = Axes::new(last(|e| e.recorded_at)?, Some(last(|e| e.occurred_at)?));
    Ok((facts, axes))
}

/// Writes the retrospective report of each sample partnership into `dir` and prints the paths.
fn write_reports(projections: &Projections, samples: &[PartnershipId], dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let settings = ModelSettings::default();
    println!(
        "\nthe retrospective of each sample partnership, one HTML page each (open in a browser):"
    );
    for p in samples {
        let (facts, axes) = facts_at_last(projections, p)?;
        let page = accord_report::render(&accord_report::Retro {
            partnership_id: p,
            events: &facts.events,
            axes,
            from: None,
            to: None,
            settings: &settings,
            revision: Some(facts.position),
        })?;
        let path = dir.join(format!("{p}.html"));
        std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
        println!("  {}", path.display());
    }
    println!(
        "\nnext: `accord up` serves this ledger over HTTP; `accord import examples/<file>.jsonl` loads a sample into it; `accord show summary <id>` shows it; `accord retro <id> --out report.html` writes its retrospective"
    );
    Ok(())
}
