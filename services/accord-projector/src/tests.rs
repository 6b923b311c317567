//! Given a log, projecting it in one pass, in batches of any size, and after a crash at any
//! point (with the replay overlapping what was already applied) gives identical read models; a
//! tampered commit stops only its own partnership; a rebuild's bulk load gives the same store as
//! batches; a rebuild swaps a new generation in.

use std::sync::Arc;

use accord_domain::models::{Axes, Lists, Model, ModelSettings};
use accord_domain::personal::{Digest, seal};
use accord_domain::{CommitId, Event, EventId, EventInput, Hash, PartnershipId};
use accord_log::{Disclosed, StoredCommit};
use accord_proto::SealedCommit;
use bytes::Bytes;
use proptest::prelude::*;
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::bulk::BulkLoad;
use crate::{Disclose, KeptSettings, Projections, Store};

const PARTNERSHIPS: usize = 3;
const COMMITS: usize = 40;

fn event(kind: &str, org: &str, at: OffsetDateTime, data: serde_json::Value) -> EventInput {
    serde_json::from_value(json!({
        "type": kind,
        "occurred_at": at.format(&time::format_description::well_known::Rfc3339).expect("rfc3339"),
        "actor": {"org": org},
        "data": data,
    }))
    .expect("a valid event")
}

/// The personal values of [`log`]'s commits, as the log's disclosure store would give them.
#[derive(Debug)]
struct Values(Disclosed);

impl Disclose for Values {
    fn disclose(&self, digests: &[Digest]) -> Result<Disclosed, crate::StoreError> {
        Ok(digests
            .iter()
            .filter_map(|d| self.0.get(d).map(|x| (*d, x.clone())))
            .collect())
    }
}

fn values() -> Arc<dyn Disclose> {
    Arc::new(Values(sealed_log().1))
}

/// `COMMITS` commits over `PARTNERSHIPS` partnerships, interleaved, each chain sealed: the first
/// commit of each proposes it, then meetings are requested by either side, cancelled now and
/// then.
fn log() -> Vec<StoredCommit> {
    sealed_log().0
}

/// [`log`] and the disclosures of its personal values (the same every time: salts 1, 2, ...).
fn sealed_log() -> (Vec<StoredCommit>, Disclosed) {
    let mut salt = 0u8;
    let mut disclosed = Disclosed::new();
    let mut heads = [Hash::GENESIS; PARTNERSHIPS];
    let mut counts = [0usize; PARTNERSHIPS];
    let commits = (0..COMMITS)
        .map(|i| {
            let n = (i * 7 + i / 3) % PARTNERSHIPS;
            let p = PartnershipId::parse(&format!("p{n}")).expect("slug");
            let at = datetime!(2026-01-01 09:00 UTC) + time::Duration::days(i as i64 * 3);
            let org = if i % 3 == 0 { "stmary" } else { "acme" };
            let input = match counts[n] {
                0 => event(
                    "partnership_proposed",
                    "acme",
                    at,
                    json!({"parties": [{"org": "acme", "name": "Acme", "kind": "vendor"},
                                       {"org": "stmary", "name": "St Mary", "kind": "health_system"}],
                           "vision": "v", "rationale_tags": []}),
                ),
                c if c % 4 == 3 => event(
                    "follow_up_proposed",
                    org,
                    at,
                    json!({"by_org": org}),
                ),
                c => event(
                    "meeting_requested",
                    org,
                    at,
                    json!({"meeting_id": format!("m{c}"), "requested_by_org": org, "purpose": "p"}),
                ),
            };
            counts[n] += 1;
            let e = input.into_event(
                EventId::from_uuid(uuid_of(i)),
                p.clone(),
                at + time::Duration::minutes(1),
            );
            let stored = seal(vec![e], &mut || {
                salt = salt.wrapping_add(1);
                [salt; 16]
            });
            disclosed.extend(stored.disclosures.into_iter().map(|d| (d.digest(), d)));
            let e = &stored.events[0];
            let sealed = SealedCommit::seal_parts(
                CommitId::from_unscoped_idempotency_key(&p, &i.to_string()),
                &p,
                heads[n],
                e.recorded_at,
                std::slice::from_ref(e),
                None,
            );
            heads[n] = sealed.hash;
            StoredCommit {
                position: i as u64 + 1,
                partnership_id: p,
                bytes: Bytes::from(sealed.encode()),
            }
        })
        .collect();
    (commits, disclosed)
}

fn uuid_of(i: usize) -> uuid::Uuid {
    uuid::Uuid::from_u128(i as u128 + 1)
}

/// What a reader sees: every partnership's meta, facts and read models at one `as_of`, and the
/// checkpoint.
fn view(store: &Store) -> (u64, Vec<String>) {
    let settings = ModelSettings::default();
    let mut out = Vec::new();
    for p in store.partnerships().expect("ids") {
        let facts = store
            .facts(&p, values().as_ref())
            .expect("read")
            .expect("known");
        out.push(format!("{p} {:?} {}", facts.meta, facts.events.len()));
        for model in Model::ALL {
            let m = facts
                .evaluate(
                    &p,
                    model,
                    Axes::at(datetime!(2026-06-01 00:00 UTC)),
                    &settings,
                )
                .expect("not broken");
            out.push(serde_json::to_string(&m).expect("json"));
        }
    }
    (store.checkpoint().expect("checkpoint"), out)
}

/// Calls `f` on consecutive batches of `commits`, their sizes taken from `sizes` in turn.
fn in_batches(commits: &[StoredCommit], sizes: &[usize], mut f: impl FnMut(&[StoredCommit])) {
    let mut rest = commits;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
        f(&rest[..n]);
        rest = &rest[n..];
    }
}

fn apply_in(store: &Store, commits: &[StoredCommit], sizes: &[usize]) {
    in_batches(commits, sizes, |batch| {
        store.apply(batch).expect("apply");
    });
}

fn one_pass() -> (u64, Vec<String>) {
    let store = Store::temporary().expect("store");
    store.apply(&log()).expect("apply");
    view(&store)
}

#[test]
fn one_pass_folds_every_commit() {
    let (checkpoint, view) = one_pass();
    assert_eq!(checkpoint, COMMITS as u64);
    assert_eq!(view.len(), PARTNERSHIPS * (1 + Model::ALL.len()));
}

/// A replay of commits already applied (the subscription after a restart) leaves the store as
/// it was, including the id of the commit at the checkpoint that `check_log` compares.
/// A head read after each batch (its kept read models caught up with the store) answers what a
/// fold of the partnership's facts answers, at the head and at a past `as_of`, with fewer heads
/// kept than partnerships; an unknown partnership has none.
#[test]
fn heads_answer_what_the_facts_answer_after_every_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kept = KeptSettings {
        partnerships: 2,
        checkpoint_every: 2,
    };
    let projections = Projections::open_with(dir.path(), kept, values()).expect("open");
    let store = projections.store();
    let settings = ModelSettings::default();
    let mut heads_read = 0;
    in_batches(&log(), &[1, 3, 2, 5], |batch| {
        store.apply(batch).expect("apply");
        for p in store.partnerships().expect("ids") {
            let facts = store
                .facts(&p, values().as_ref())
                .expect("read")
                .expect("known");
            for model in Model::ALL {
                let (head_axes, at_head) = projections
                    .head(&p, &settings, |h| {
                        assert_eq!(h.position(), facts.position);
                        let events: Vec<&Event> = h.events().iter().map(|e| &**e).collect();
                        assert_eq!(events, facts.events.iter().collect::<Vec<_>>());
                        let axes = h.axes().expect("events");
                        (axes, h.evaluate(&p, model, axes, &settings, Lists::All))
                    })
                    .expect("read")
                    .expect("known");
                let earlier = Axes::at(facts.events[0].recorded_at);
                let past = projections
                    .head(&p, &settings, |h| {
                        h.evaluate(&p, model, earlier, &settings, Lists::All)
                    })
                    .expect("read")
                    .expect("known");
                for (axes, answer) in [(head_axes, at_head), (earlier, past)] {
                    let folded = facts.evaluate(&p, model, axes, &settings);
                    assert_eq!(answer.expect("answers"), folded.expect("answers"));
                }
                heads_read += 2;
            }
        }
    });
    assert!(heads_read > 0);
    let nobody = PartnershipId::parse("nobody").expect("slug");
    assert!(
        projections
            .head(&nobody, &settings, |_| ())
            .expect("read")
            .is_none()
    );
}

#[test]
fn a_replay_of_applied_commits_changes_nothing() {
    let commits = log();
    let store = Store::temporary().expect("store");
    store.apply(&commits).expect("apply");
    let fingerprint = store.checkpoint_commit().expect("read");
    assert!(fingerprint.is_some());
    let applied = store.apply(&commits[..5]).expect("apply");
    assert_eq!(applied.checkpoint, COMMITS as u64);
    assert_eq!(applied.commits, 0);
    assert_eq!(store.checkpoint_commit().expect("read"), fingerprint);
    assert_eq!(view(&store), one_pass());
}

/// A bulk load of `commits` in batches of `sizes`, writing a run whenever `budget` bytes are
/// buffered.
fn bulk_load(commits: &[StoredCommit], sizes: &[usize], budget: usize) -> Arc<Store> {
    let scratch = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::temporary().expect("store"));
    let mut load = BulkLoad::new(store.clone(), scratch.path().join("runs"), budget);
    in_batches(commits, sizes, |batch| {
        load.add(batch).expect("add");
    });
    load.finish().expect("finish");
    assert!(
        !scratch.path().join("runs").exists(),
        "the runs are removed"
    );
    store
}

/// Batch sizes, used in turn.
fn batch_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..12, 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn batches_of_any_size_give_the_same_read_models(sizes in batch_sizes()) {
        let store = Store::temporary().expect("store");
        apply_in(&store, &log(), &sizes);
        prop_assert_eq!(view(&store), one_pass());
    }

    /// The projector crashes after `kept` commits reached the disk: a batch is all or nothing
    /// (sled applies it atomically), so what survives is the batches before the crash. On
    /// restart the subscription may hand over commits again from before the checkpoint. (The
    /// end-to-end test kills a real projector process and restarts it on its files.)
    #[test]
    fn a_crash_at_any_point_then_an_overlapping_replay_gives_the_same_read_models(
        kept in 0usize..=COMMITS,
        overlap in 0usize..10,
        sizes in batch_sizes(),
    ) {
        let commits = log();
        let store = Store::temporary().expect("store");
        apply_in(&store, &commits[..kept], &sizes);
        prop_assert_eq!(store.checkpoint().expect("checkpoint"), kept as u64);
        apply_in(&store, &commits[kept.saturating_sub(overlap)..], &sizes);
        prop_assert_eq!(view(&store), one_pass());
    }

    /// A rebuild loads the log up to its head in bulk (with runs on disk when the buffer is
    /// full), then applies what follows batch by batch.
    #[test]
    fn a_bulk_load_then_batches_give_the_same_read_models(
        loaded in 0usize..=COMMITS,
        budget in 0usize..20_000,
        sizes in batch_sizes(),
    ) {
        let commits = log();
        let store = bulk_load(&commits[..loaded], &sizes, budget);
        prop_assert_eq!(store.checkpoint().expect("checkpoint"), loaded as u64);
        apply_in(&store, &commits[loaded..], &sizes);
        prop_assert_eq!(view(&store), one_pass());
    }
}

/// `log()` with one byte flipped in p1's third commit, and that commit's position.
fn tampered() -> (Vec<StoredCommit>, u64) {
    let mut commits = log();
    // Flip one byte of p1's third commit.
    let target = commits
        .iter()
        .filter(|c| c.partnership_id.as_str() == "p1")
        .nth(2)
        .expect("p1 has three commits")
        .position;
    let i = (target - 1) as usize;
    let mut bytes = commits[i].bytes.to_vec();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    commits[i].bytes = Bytes::from(bytes);
    (commits, target)
}

#[test]
fn a_tampered_commit_stops_its_partnership_and_no_other() {
    let (commits, target) = tampered();
    let store = Store::temporary().expect("store");
    let applied = store.apply(&commits).expect("apply");
    assert_eq!(
        applied.checkpoint, COMMITS as u64,
        "the checkpoint moves past it"
    );
    assert_eq!(applied.breaks.len(), 1);
    let b = &applied.breaks[0];
    assert_eq!(b.partnership_id.as_str(), "p1");
    assert_eq!(b.broken.position, target);
    assert_eq!(store.broken().expect("broken"), applied.breaks);

    let p1 = PartnershipId::parse("p1").expect("slug");
    let facts = store
        .facts(&p1, values().as_ref())
        .expect("read")
        .expect("known");
    assert_eq!(facts.meta.revision, b.broken.last_good);
    assert!(
        facts.events.len() == 2,
        "only the two commits before the break are folded in"
    );
    let err = facts
        .evaluate(
            &p1,
            Model::Summary,
            Axes::at(datetime!(2026-06-01 00:00 UTC)),
            &ModelSettings::default(),
        )
        .expect_err("a broken partnership has no read model");
    assert!(err.to_string().contains("broken at position"), "{err}");

    // The other partnerships are exactly as without the tampering.
    let clean = Store::temporary().expect("store");
    clean.apply(&log()).expect("apply");
    for p in ["p0", "p2"] {
        let p = PartnershipId::parse(p).expect("slug");
        assert_eq!(
            store.facts(&p, values().as_ref()).expect("read"),
            clean.facts(&p, values().as_ref()).expect("read")
        );
    }
}

#[test]
fn a_bulk_load_stops_a_tampered_partnership_as_batches_do() {
    let (commits, _) = tampered();
    let batches = Store::temporary().expect("store");
    batches.apply(&commits).expect("apply");
    let bulk = bulk_load(&commits, &[5], 2000);
    assert_eq!(
        bulk.broken().expect("broken"),
        batches.broken().expect("broken")
    );
    assert_eq!(bulk.broken().expect("broken").len(), 1);
    for p in batches.partnerships().expect("ids") {
        assert_eq!(
            bulk.facts(&p, values().as_ref()).expect("read"),
            batches.facts(&p, values().as_ref()).expect("read")
        );
    }
}

#[test]
fn a_rebuilt_generation_replaces_the_current_one_on_disk_and_for_readers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let commits = log();
    let projections = Projections::open(dir.path(), values()).expect("open");
    projections.store().apply(&commits[..10]).expect("apply");
    let next = projections.next_generation().expect("next");
    let building: Arc<Store> = next.store.clone();
    building.apply(&commits).expect("apply");
    assert_eq!(projections.store().checkpoint().expect("checkpoint"), 10);
    projections.swap_in(next).expect("swap");
    assert_eq!(
        projections.store().checkpoint().expect("checkpoint"),
        COMMITS as u64
    );
    assert_eq!(view(&projections.store()), one_pass());
    assert_eq!(
        generations(dir.path()),
        ["gen-2"],
        "the old generation is gone"
    );
    let current = std::fs::read_to_string(dir.path().join("CURRENT")).expect("CURRENT");
    assert_eq!(current.trim(), "2");
    drop(building);
}

fn generations(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gen-"))
        .collect();
    names.sort();
    names
}

/// A crash during a rebuild leaves `CURRENT` on the old generation and the unfinished one
/// beside it, with the rebuild's scratch space: opening keeps the one `CURRENT` names and
/// removes the others.
#[test]
fn opening_removes_the_generations_current_does_not_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("CURRENT"), "3\n").expect("CURRENT");
    for stray in ["gen-2", "gen-4", "rebuild-scratch"] {
        std::fs::create_dir(dir.path().join(stray)).expect("stray generation");
    }
    let projections = Projections::open(dir.path(), values()).expect("open");
    assert_eq!(projections.store().checkpoint().expect("checkpoint"), 0);
    assert_eq!(generations(dir.path()), ["gen-3"]);
    assert!(!dir.path().join("rebuild-scratch").exists());
}

/// Read models written in another layout are made again from the log, in a new generation.
#[test]
fn a_store_of_another_layout_starts_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("CURRENT"), "1\n").expect("CURRENT");
    {
        let db = sled::open(dir.path().join("gen-1")).expect("sled");
        db.insert(b"k", &7u64.to_be_bytes())
            .expect("an old checkpoint");
        db.flush().expect("flush");
    }
    let projections = Projections::open(dir.path(), values()).expect("open");
    assert_eq!(projections.store().checkpoint().expect("checkpoint"), 0);
    assert_eq!(generations(dir.path()), ["gen-2"]);
}

/// The list's overviews: one per partnership in id order from a cursor, each at the revision the
/// store holds, made again once the partnership moved on.
#[test]
fn overviews_follow_each_partnership_from_a_cursor() {
    let store = Store::temporary().expect("store");
    let log = log();
    let overviews = |after: Option<&str>| -> Vec<(String, u64, usize)> {
        let after = after.map(|a| PartnershipId::parse(a).expect("slug"));
        store
            .overviews_after(after.as_ref())
            .map(|o| {
                let o = o.expect("an overview");
                (o.partnership_id.to_string(), o.revision, o.event_count)
            })
            .collect()
    };
    store.apply(&log[..20]).expect("first half");
    let first = overviews(None);
    assert_eq!(
        first.iter().map(|o| o.0.as_str()).collect::<Vec<_>>(),
        ["p0", "p1", "p2"]
    );
    let facts = |p: &str| {
        store
            .facts(&PartnershipId::parse(p).expect("slug"), values().as_ref())
            .expect("read")
            .expect("known")
    };
    for (p, revision, count) in &first {
        let f = facts(p);
        assert_eq!((*revision, *count), (f.position, f.events.len()), "{p}");
    }
    // Asked again, the stored overviews answer the same.
    assert_eq!(overviews(None), first);
    store.apply(&log[20..]).expect("second half");
    let second = overviews(None);
    for (p, revision, count) in &second {
        let f = facts(p);
        assert_eq!(
            (*revision, *count),
            (f.position, f.events.len()),
            "{p} moved on"
        );
    }
    assert_ne!(second, first);
    assert_eq!(overviews(Some("p0")), second[1..]);
    assert_eq!(overviews(Some("p2")), []);
}

/// A fault in one partnership's fold answers for that partnership alone, naming it and what
/// failed; the next evaluation runs as usual.
#[test]
fn a_fold_that_panics_answers_a_fault_for_its_partnership() {
    let p = PartnershipId::parse("p0").expect("slug");
    let fault =
        crate::guarded(&p, "summary", || -> u32 { panic!("an overflow") }).expect_err("a fault");
    assert_eq!(
        fault.to_string(),
        "the summary of p0 cannot be evaluated: an overflow"
    );
    assert_eq!(crate::guarded(&p, "summary", || 7), Ok(7));
}

/// Facts read with their personal values from the disclosure store; an erasure among them (or
/// a store without the values) reads as erased.
#[test]
fn facts_join_their_personal_values() {
    use accord_domain::Payload;
    use accord_domain::personal::ERASED;

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    store.apply(&log()).expect("apply");
    let p = PartnershipId::parse("p0").expect("slug");
    let vision = |facts: crate::Facts| match &facts.events[0].payload {
        Payload::PartnershipProposed(x) => x.vision.clone(),
        other => panic!("{other:?}"),
    };
    let joined = store
        .facts(&p, values().as_ref())
        .expect("read")
        .expect("known");
    assert_eq!(vision(joined), "v");
    let without = store
        .facts(&p, &crate::disclose::Undisclosed)
        .expect("read")
        .expect("known");
    assert_eq!(vision(without), ERASED);
}
