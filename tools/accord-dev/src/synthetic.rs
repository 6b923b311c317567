//! `accord-dev gen`: a large, deterministic, valid synthetic history for benchmarks and load tests.
//!
//! The same `--seed` gives the same file, byte for byte (ChaCha8). Every event is valid under the
//! domain's rules, so the whole file imports with nothing rejected: the generator keeps, per
//! partnership, the meetings, deliverables and goals it has opened and only moves them on.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How many partnerships.
    #[arg(long, default_value_t = 100)]
    partnerships: u64,
    /// How many events in all (one event per commit, two of them per partnership to start it).
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    /// The seed: the same seed gives the same history.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the JSONL (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Business time runs from here; all events stay before `END`.
const START: OffsetDateTime = datetime!(2020-01-01 09:00 UTC);
const END: OffsetDateTime = datetime!(2025-12-31 17:00 UTC);

/// One synthetic partnership and what is open in it.
struct Synthetic {
    id: String,
    vendor: String,
    system: String,
    clock: OffsetDateTime,
    step: Duration,
    emitted: u64,
    next_item: u64,
    requested: Vec<String>,
    scheduled: Vec<String>,
    committed: Vec<(String, bool)>,
    /// Goals proposed, with the orgs that have not yet agreed to them (each agrees for itself).
    proposed_goals: Vec<(String, Vec<String>)>,
}

impl Synthetic {
    fn item(&mut self, prefix: &str) -> String {
        self.next_item += 1;
        format!("{prefix}{}", self.next_item)
    }

    /// The next event, valid for what is open.
    fn next(&mut self, rng: &mut ChaCha8Rng) -> Value {
        let jitter: i32 = rng.random_range(50..150);
        // Jitter adds up: with few events per partnership the sum can pass `END` (and reach the
        // future, which the ledger refuses), so the clock stops there.
        let next: OffsetDateTime = self.clock + self.step * jitter / 100;
        self.clock = next.min(END);
        let at = self
            .clock
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let (vendor, system) = (self.vendor.clone(), self.system.clone());
        let org = if rng.random_bool(0.6) {
            &vendor
        } else {
            &system
        };
        let event = |kind: &str, org: &str, data: Value| json!({"type": kind, "occurred_at": at, "actor": {"org": org}, "data": data});
        self.emitted += 1;
        match self.emitted {
            1 => {
                return event(
                    "partnership_proposed",
                    &vendor,
                    json!({"parties": [
                        {"org": vendor, "name": format!("Vendor {vendor}"), "kind": "vendor"},
                        {"org": system, "name": format!("Health system {system}"), "kind": "health_system"}],
                      "vision": "synthetic partnership for load tests"}),
                );
            }
            2 => {
                return event(
                    "partnership_status_changed",
                    &system,
                    json!({"status": "active", "reason": "signed"}),
                );
            }
            _ => {}
        }
        loop {
            match rng.random_range(0..12) {
                0 | 1 => {
                    let m = self.item("m");
                    self.requested.push(m.clone());
                    return event(
                        "meeting_requested",
                        org,
                        json!({"meeting_id": m, "requested_by_org": org, "purpose": "review"}),
                    );
                }
                2 if !self.requested.is_empty() => {
                    let m = self.requested.remove(0);
                    self.scheduled.push(m.clone());
                    let starts = at.clone();
                    return event(
                        "meeting_scheduled",
                        org,
                        json!({"meeting_id": m, "starts_at": starts, "host_org": org}),
                    );
                }
                3 if !self.scheduled.is_empty() => {
                    let m = self.scheduled.remove(0);
                    let in_person = rng.random_bool(0.3);
                    let mut data = json!({"meeting_id": m, "in_person": in_person,
                        "attendees": [{"org": vendor, "person": "Vendor lead", "seniority": "manager"},
                                      {"org": system, "person": "System lead", "seniority": "exec"}]});
                    if in_person {
                        data["location_org"] = json!(system);
                    }
                    return event("meeting_held", org, data);
                }
                4 if !self.scheduled.is_empty() => {
                    let m = self.scheduled.remove(0);
                    let notice = rng.random_range(1..120);
                    return event(
                        "meeting_cancelled",
                        org,
                        json!({"meeting_id": m, "by_org": org, "notice_hours": notice, "reason": "clash"}),
                    );
                }
                5 => return event("follow_up_proposed", org, json!({"by_org": org})),
                6 => {
                    let d = self.item("d");
                    let due = (self.clock + Duration::days(rng.random_range(14..120))).date();
                    self.committed.push((d.clone(), false));
                    return event(
                        "deliverable_committed",
                        org,
                        json!({"deliverable_id": d, "title": "synthetic deliverable", "owner_org": org,
                               "owner_person": "Owner", "due_date": due.to_string(),
                               "top_priority": rng.random_bool(0.2)}),
                    );
                }
                7 if self.committed.iter().any(|(_, started)| !started) => {
                    if let Some(entry) = self.committed.iter_mut().find(|(_, started)| !started) {
                        entry.1 = true;
                        let d = entry.0.clone();
                        return event("deliverable_started", org, json!({"deliverable_id": d}));
                    }
                }
                8 if !self.committed.is_empty() => {
                    let (d, _) = self.committed.remove(0);
                    return event("deliverable_completed", org, json!({"deliverable_id": d}));
                }
                9 => {
                    let g = self.item("g");
                    self.proposed_goals
                        .push((g.clone(), vec![vendor.clone(), system.clone()]));
                    let kind = ["qualitative", "marketing", "sales"][rng.random_range(0..3)];
                    let start = self.clock.date();
                    let end = (self.clock + Duration::days(180)).date();
                    return event(
                        "goal_proposed",
                        org,
                        json!({"goal_id": g, "kind": kind, "metric": "leads", "target": "100",
                               "period": {"start": start.to_string(), "end": end.to_string()},
                               "by_org": org}),
                    );
                }
                10 if !self.proposed_goals.is_empty() => {
                    let (g, pending) = &mut self.proposed_goals[0];
                    let (g, org) = (g.clone(), pending.remove(0));
                    if pending.is_empty() {
                        self.proposed_goals.remove(0);
                    }
                    return event("goal_agreed", &org, json!({"goal_id": g, "by_org": org}));
                }
                11 => {
                    let value = rng.random_range(0..500);
                    let start = (self.clock - Duration::days(30)).date();
                    return event(
                        "indicator_recorded",
                        org,
                        json!({"metric": "leads", "value": value.to_string(),
                               "period": {"start": start.to_string(), "end": self.clock.date().to_string()},
                               "org": org}),
                    );
                }
                _ => {}
            }
        }
    }
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    generate(args.partnerships, args.events, args.seed, |line| {
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
        Ok(())
    })?;
    out.flush()?;
    Ok(())
}

/// Gives `events` commit lines (`{"partnership_id", "events": [one event]}`) over
/// `partnerships` partnerships, in log order, the same for the same seed.
pub(crate) fn generate(
    partnerships: u64,
    events: u64,
    seed: u64,
    mut emit: impl FnMut(Value) -> Result<()>,
) -> Result<()> {
    if partnerships == 0 || events < 2 * partnerships {
        bail!("--events must be at least twice --partnerships (a proposal and an activation each)");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let per = events.div_ceil(partnerships);
    let step = (END - START) / i32::try_from(per.max(1)).unwrap_or(i32::MAX);
    let mut all: Vec<Synthetic> = (0..partnerships)
        .map(|i| Synthetic {
            id: format!("syn-{i:06}"),
            vendor: format!("vendor-{}", i % 97),
            system: format!("system-{}", i % 89 + 1000),
            clock: START + Duration::minutes(i64::try_from(i % 1440).unwrap_or(0)),
            step,
            emitted: 0,
            next_item: 0,
            requested: Vec::new(),
            scheduled: Vec::new(),
            committed: Vec::new(),
            proposed_goals: Vec::new(),
        })
        .collect();
    // Rounds over the partnerships, so that their commits interleave as in a real log.
    let mut written = 0;
    'rounds: loop {
        for p in &mut all {
            if written == events {
                break 'rounds;
            }
            let event = p.next(&mut rng);
            emit(json!({"partnership_id": p.id, "events": [event]}))?;
            written += 1;
        }
    }
    Ok(())
}
