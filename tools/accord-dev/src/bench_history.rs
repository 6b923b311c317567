//! Figure 7 of `accord-dev bench`: the read models of one partnership with a long history, cold.
//!
//! For each size, one partnership from the synthetic history (`accord-dev gen --partnerships 1`),
//! imported at once (every event recorded at the same instant, after the last occurred), then
//! each model evaluated over its facts as a query does, and its answer written as JSON (the
//! HTTP answer's bytes): nothing is kept between models or runs. The retro is the whole HTML
//! page. Each figure is the median of [`RUNS`] runs. At 100 events, the summary is asked many
//! times for its p99.

use std::time::{Duration, Instant};

use accord_domain::models::{Axes, Model, ModelSettings, evaluate};
use accord_domain::{Event, EventId, EventInput, PartnershipId};
use anyhow::{Context, Result};
use time::macros::datetime;

/// When the history is imported, and asked about.
const IMPORTED: time::OffsetDateTime = datetime!(2026-06-01 00:00 UTC);
/// How many times the summary of a short history is asked, for its p99.
const SHORT_RUNS: usize = 500;
/// Runs of each figure at each size; the median is printed.
const RUNS: usize = 3;

/// The median time of [`RUNS`] runs of `run`, and what the last one measured.
fn median(mut run: impl FnMut() -> Result<(Duration, usize)>) -> Result<(Duration, usize)> {
    let mut took = Vec::with_capacity(RUNS);
    let mut bytes = 0;
    for _ in 0..RUNS {
        let (d, b) = run()?;
        took.push(d);
        bytes = b;
    }
    took.sort();
    Ok((took[RUNS / 2], bytes))
}

/// One partnership of `events` events, as the ledger would hold it after an import.
fn history(events: u64) -> Result<Vec<Event>> {
    let p = PartnershipId::parse("syn-000000").context("a slug")?;
    let mut out = Vec::new();
    crate::synthetic::generate(1, events, 1, |line| {
        let input: EventInput = serde_json::from_value(line["events"][0].clone())?;
        let id = EventId::from_uuid(uuid::Uuid::from_u128(out.len() as u128 + 1));
        out.push(input.into_event(id, p.clone(), IMPORTED));
        Ok(())
    })?;
    Ok(out)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One model's answer, as a query makes it: evaluated and written as JSON.
fn answer(model: Model, events: &[Event], settings: &ModelSettings) -> Result<(Duration, usize)> {
    let started = Instant::now();
    let model = evaluate(model, events, Axes::at(IMPORTED), settings);
    let bytes = serde_json::to_vec(&model)?.len();
    Ok((started.elapsed(), bytes))
}

/// The retro page.
fn retro(events: &[Event], settings: &ModelSettings) -> Result<(Duration, usize)> {
    let p = PartnershipId::parse("syn-000000").context("a slug")?;
    let started = Instant::now();
    let page = accord_report::render(&accord_report::Retro {
        partnership_id: &p,
        events,
        axes: Axes::at(IMPORTED),
        from: None,
        to: None,
        settings,
        revision: None,
    })?;
    Ok((started.elapsed(), page.len()))
}

/// Figure 7 at each size of history; prints one line per size and model, then the growth of
/// each from the size before, and the summary's p99 on a short history.
pub(crate) fn figure_7(sizes: &[u64]) -> Result<()> {
    let settings = ModelSettings::default();
    let mut before: Option<(u64, [f64; 4])> = None;
    for &n in sizes {
        let events = history(n)?;
        let mut took = [0.0; 4];
        for (i, model) in [Model::Summary, Model::Flags, Model::Trust]
            .into_iter()
            .enumerate()
        {
            let (d, bytes) = median(|| answer(model, &events, &settings))?;
            took[i] = ms(d);
            println!(
                "{:<44} {:>10.1} ms  ({bytes} bytes)",
                format!("7 cold {} at {n} events", model.as_str()),
                took[i]
            );
        }
        let (d, bytes) = median(|| retro(&events, &settings))?;
        took[3] = ms(d);
        println!(
            "{:<44} {:>10.1} ms  ({bytes} bytes)",
            format!("7 retro at {n} events"),
            took[3]
        );
        if let Some((m, was)) = before {
            let growth: Vec<String> = ["summary", "flags", "trust", "retro"]
                .iter()
                .zip(took.iter().zip(was))
                .map(|(name, (now, was))| format!("{name} {:.1}×", now / was))
                .collect();
            println!(
                "{:<44} {}",
                format!("7 from {m} to {n} events"),
                growth.join(", ")
            );
        }
        before = Some((n, took));
    }
    let events = history(100)?;
    let mut samples = Vec::with_capacity(SHORT_RUNS);
    for _ in 0..SHORT_RUNS {
        samples.push(ms(answer(Model::Summary, &events, &settings)?.0));
    }
    samples.sort_by(f64::total_cmp);
    let p99 = samples[(samples.len() * 99).div_ceil(100) - 1];
    println!(
        "{:<44} {:>10.3} ms p99, {:.3} ms p50 over {SHORT_RUNS} (target < 2 ms)",
        "7 cold summary at 100 events",
        p99,
        samples[samples.len() / 2]
    );
    Ok(())
}
