//! Whose values an erasure takes, where, and what it refuses.

use std::collections::BTreeSet;
use std::sync::Arc;

use accord_domain::event::ErasureBasis;
use accord_domain::personal::{Digest, ERASED};
use accord_domain::{DomainError, EventInput, OrgId, PartnershipId, Settings};
use accord_log::EventLog;
use accord_log::embedded::EmbeddedLog;
use serde_json::json;

use super::ForgetRequest;
use crate::{Ledger, LedgerError, RecordRequest};

const ANA: &str = "Ana Ruiz";

fn org(s: &str) -> OrgId {
    OrgId::parse(s).expect("an org")
}

fn pid(s: &str) -> PartnershipId {
    PartnershipId::parse(s).expect("a slug")
}

fn input(v: serde_json::Value) -> EventInput {
    serde_json::from_value(v).expect("a test event")
}

/// A partnership of acme and `other` in which Ana Ruiz acts for acme, and a person of the same
/// name attends for `other`, and a note of `other` mentions her.
async fn record(ledger: &Ledger, p: &PartnershipId, other: &str) {
    let events = vec![
        input(
            json!({"type": "partnership_proposed", "occurred_at": "2026-01-05T09:00:00Z",
            "actor": {"org": "acme", "person": ANA},
            "data": {"parties": [{"org": "acme", "name": "Acme", "kind": "vendor"},
                                 {"org": other, "name": "Other", "kind": "health_system"}],
                     "vision": "a shared clinic", "rationale_tags": []}}),
        ),
        input(
            json!({"type": "meeting_requested", "occurred_at": "2026-01-06T09:00:00Z",
            "actor": {"org": "acme"},
            "data": {"meeting_id": "m1", "requested_by_org": "acme", "purpose": "kick-off"}}),
        ),
        input(
            json!({"type": "meeting_held", "occurred_at": "2026-01-07T09:00:00Z",
            "actor": {"org": other},
            "note": "ana ruiz chaired",
            "data": {"meeting_id": "m1", "in_person": false, "introductions_made": 0,
                     "attendees": [{"org": "acme", "person": ANA, "seniority": "exec"},
                                   {"org": other, "person": ANA, "seniority": "staff"},
                                   {"org": other, "person": "Ben Ode", "seniority": "staff"}]}}),
        ),
    ];
    ledger
        .record(RecordRequest {
            partnership_id: p.clone(),
            events,
            if_match: None,
            idempotency_key: None,
            signed: None,
        })
        .await
        .expect("recorded");
}

fn request(person: &str, by: &str) -> ForgetRequest {
    ForgetRequest {
        person: person.into(),
        org: None,
        partnership_id: None,
        requested_by_org: org(by),
        basis: ErasureBasis::DataSubjectRequest,
        request_ref: None,
    }
}

/// The values every event of `p` shows, in order, as a reader sees them.
async fn values(log: &dyn EventLog, p: &PartnershipId) -> Vec<String> {
    let stored = log.read_partnership(p, 0).await.expect("read");
    let mut out = Vec::new();
    for (_, commit) in accord_log::join_commits(log, &stored).await.expect("join") {
        for mut e in commit.events {
            accord_domain::personal::each_field(&mut e, &mut |_, _, v| out.push(v.clone()));
        }
    }
    out
}

fn setup() -> (tempfile::TempDir, Arc<dyn EventLog>, Ledger) {
    let dir = tempfile::tempdir().expect("dir");
    let log: Arc<dyn EventLog> = Arc::new(EmbeddedLog::open(dir.path()).expect("a store"));
    let ledger = Ledger::new(log.clone(), Settings::default());
    (dir, log, ledger)
}

#[tokio::test]
async fn an_org_erases_in_its_own_partnerships_and_only_the_person_of_the_org_asked() {
    let (_dir, log, ledger) = setup();
    let (ours, theirs) = (pid("acme-stmary"), pid("acme-globex"));
    record(&ledger, &ours, "stmary").await;
    record(&ledger, &theirs, "globex").await;
    let before_theirs = values(&*log, &theirs).await;

    let mut asked = request(" ana RUIZ", "stmary");
    asked.org = Some(org("stmary"));
    let done = ledger.forget(&asked).await.expect("forget");
    assert_eq!(done.erased.len(), 1, "stmary is party to one partnership");
    assert_eq!(done.erased[0].appended.partnership_id, ours);
    // The stmary attendee and the note that mentions her, not acme's Ana Ruiz.
    assert_eq!(done.erased[0].values, 2);
    assert_eq!(
        values(&*log, &ours).await,
        [
            ANA,
            "a shared clinic",
            "kick-off",
            ERASED,
            ANA,
            ERASED,
            "Ben Ode"
        ]
    );
    assert_eq!(
        values(&*log, &theirs).await,
        before_theirs,
        "globex's is untouched"
    );

    // Without an org, every value that names her, in a partnership acme is party to.
    let done = ledger.forget(&request(ANA, "acme")).await.expect("forget");
    assert_eq!(done.erased.len(), 2);
    assert_eq!(
        values(&*log, &ours).await,
        [
            ERASED,
            "a shared clinic",
            "kick-off",
            ERASED,
            ERASED,
            ERASED,
            "Ben Ode"
        ]
    );
    assert!(!values(&*log, &theirs).await.iter().any(|v| v == ANA));
}

#[tokio::test]
async fn refusals_name_the_field_and_record_nothing() {
    let (_dir, log, ledger) = setup();
    let ours = pid("acme-stmary");
    record(&ledger, &ours, "stmary").await;
    let last = log.last_position().await.expect("last");

    let blank = ledger.forget(&request("  ", "acme")).await;
    assert!(
        matches!(&blank, Err(LedgerError::Domain(DomainError::Validation(f))) if f[0].field == "person"),
        "{blank:?}"
    );
    let mut unknown = request(ANA, "acme");
    unknown.partnership_id = Some(pid("nobody"));
    let unknown = ledger.forget(&unknown).await;
    assert!(
        matches!(
            unknown,
            Err(LedgerError::Domain(DomainError::UnknownPartnership(_)))
        ),
        "{unknown:?}"
    );
    let mut stranger = request(ANA, "globex");
    stranger.partnership_id = Some(ours.clone());
    let stranger = ledger.forget(&stranger).await;
    assert!(
        matches!(&stranger, Err(LedgerError::Domain(DomainError::Validation(f)))
            if f.iter().any(|f| f.field.ends_with("requested_by_org"))),
        "{stranger:?}"
    );
    let nobody = ledger
        .forget(&request("Zed Null", "acme"))
        .await
        .expect("forget");
    assert!(nobody.erased.is_empty(), "no value names them");
    assert_eq!(log.last_position().await.expect("last"), last);
}

#[tokio::test]
async fn asking_again_finishes_an_erasure_cut_short() {
    let (_dir, log, ledger) = setup();
    let ours = pid("acme-stmary");
    record(&ledger, &ours, "stmary").await;
    let kept = log.all_disclosures().await.expect("all");
    ledger.forget(&request(ANA, "acme")).await.expect("forget");
    let recorded = log.last_position().await.expect("last");
    // As if the process died after the erasure was recorded and before the values went.
    log.load_disclosures(&kept).await.expect("put back");
    assert_eq!(
        values(&*log, &ours)
            .await
            .iter()
            .filter(|v| *v == ERASED)
            .count(),
        4,
        "the recorded erasure holds whatever the store still has"
    );
    let again = ledger.forget(&request(ANA, "acme")).await.expect("again");
    assert!(again.erased.is_empty(), "nothing new to record");
    assert_eq!(log.last_position().await.expect("last"), recorded);
    let left: BTreeSet<Digest> = log
        .all_disclosures()
        .await
        .expect("all")
        .iter()
        .map(|d| d.digest())
        .collect();
    assert_eq!(left.len(), kept.len() - 4, "the leftovers are erased");
}
