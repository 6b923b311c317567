//! Erasure of a person's personal values (GDPR Art. 17): `accord forget`, `POST /v1/forget`.
//!
//! In each partnership asked for, the ledger reads the stored history, finds the personal
//! fields whose disclosed values name the person (or mention them, in prose), records one
//! `personal_data_erased` commit naming those digests, and only then erases the disclosures
//! from the store. From the commit on, every reader treats the digests as erased whatever the
//! store still holds, so a crash between the two steps never shows the values again; running
//! the same request again erases what such a crash left behind.

use std::collections::BTreeSet;

use accord_domain::event::{ErasureBasis, PersonalDataErased};
use accord_domain::ids::Uuid;
use accord_domain::personal::{Digest, Forget, erased};
use accord_domain::{
    Actor, Command, CommitId, DomainError, EventId, EventInput, FieldError, ItemId, OrgId,
    PartnershipId, Payload, decide,
};
use accord_log::{AppendRequest, Appended, Expected, LogError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Cached, Ledger, LedgerError, MAX_DECIDE_ATTEMPTS};

/// Most digests one `personal_data_erased` event names; a larger erasure records several.
pub const MAX_DIGESTS_PER_EVENT: usize = accord_domain::check::MAX_LIST_LEN;

/// What to erase, on whose behalf and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ForgetRequest {
    /// The person's name as it was recorded (case and surrounding spaces aside).
    pub person: String,
    /// Only where an event places the person in this org (prose that mentions the name is
    /// erased whatever the org).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub org: Option<OrgId>,
    /// Only in this partnership; by default every partnership `requested_by_org` is party to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub partnership_id: Option<PartnershipId>,
    /// The party on whose behalf the erasure is made: the actor of the erasure events.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub requested_by_org: OrgId,
    pub basis: ErasureBasis,
    /// The request's id in the asking org's records (a ticket), never a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub request_ref: Option<ItemId>,
}

/// What an erasure did, partnership by partnership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgotten {
    pub erased: Vec<ErasedIn>,
}

/// The erasure in one partnership: the commit that records it and how many values it erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasedIn {
    pub appended: Appended,
    pub values: usize,
}

impl Ledger {
    /// Erases the person's personal values where the request reaches; a partnership where the
    /// person left no value is left as it is.
    pub async fn forget(&self, request: &ForgetRequest) -> Result<Forgotten, LedgerError> {
        let who = Forget::new(&request.person, request.org.clone()).ok_or_else(|| {
            DomainError::Validation(vec![FieldError::new(
                "person",
                "must not be blank: a blank name would match every text",
            )])
        })?;
        let partnerships = match &request.partnership_id {
            Some(p) => vec![p.clone()],
            None => self.log.partnerships().await?,
        };
        let mut erased = Vec::new();
        for p in &partnerships {
            let entry = self.entry(p);
            let mut cached = entry.lock().await;
            let result = self.forget_locked(p, &mut cached, &who, request).await;
            self.release(p, &entry, cached);
            erased.extend(result?);
        }
        Ok(Forgotten { erased })
    }

    async fn forget_locked(
        &self,
        p: &PartnershipId,
        cached: &mut Cached,
        who: &Forget,
        request: &ForgetRequest,
    ) -> Result<Option<ErasedIn>, LedgerError> {
        let named = request.partnership_id.is_some();
        for _ in 0..MAX_DECIDE_ATTEMPTS {
            self.catch_up(p, cached).await?;
            if !cached.state.exists() {
                return if named {
                    Err(DomainError::UnknownPartnership(p.clone()).into())
                } else {
                    Ok(None)
                };
            }
            // Without a partnership named, only where the asking org is a party (named, the
            // rules refuse it by name).
            if !named
                && !cached
                    .state
                    .facts()
                    .parties
                    .contains(&request.requested_by_org)
            {
                return Ok(None);
            }
            let (matching, before) = self.matching(p, who).await?;
            if matching.is_empty() {
                // What an erasure cut short by a crash left in the store.
                self.log.erase(&before).await?;
                return Ok(None);
            }
            let recorded_at = OffsetDateTime::now_utc();
            let digests: Vec<Digest> = matching.iter().copied().collect();
            let events = digests
                .chunks(MAX_DIGESTS_PER_EVENT)
                .map(|chunk| {
                    let input = EventInput {
                        occurred_at: recorded_at,
                        actor: Actor {
                            org: request.requested_by_org.clone(),
                            person: None,
                            role: None,
                        },
                        note: None,
                        causation_id: None,
                        correlation_id: None,
                        payload: Payload::PersonalDataErased(PersonalDataErased {
                            requested_by_org: request.requested_by_org.clone(),
                            basis: request.basis,
                            request_ref: request.request_ref.clone(),
                            digests: chunk.to_vec(),
                        }),
                    };
                    (EventId::from_uuid(Uuid::now_v7()), input)
                })
                .collect();
            let command = Command::Erase {
                partnership_id: p.clone(),
                recorded_at,
                events,
            };
            let events = decide(&cached.state, command, &self.settings)?;
            let append = AppendRequest {
                partnership_id: p.clone(),
                commit_id: CommitId::from_uuid(Uuid::now_v7()),
                recorded_at,
                // An erasure names digests only: it has no personal value to seal.
                events: events.into(),
                disclosures: Vec::new().into(),
                signed: None,
                expected: Expected::Exact(cached.head),
            };
            match self.log.append(append).await {
                Ok(appended) => {
                    let mut all = before;
                    all.extend(matching.iter().copied());
                    self.log.erase(&all).await?;
                    // The state holds the values: read it again, erased.
                    *cached = Cached::default();
                    return Ok(Some(ErasedIn {
                        appended,
                        values: matching.len(),
                    }));
                }
                Err(LogError::Conflict { .. }) => cached.loaded = false,
                Err(e) => return Err(e.into()),
            }
        }
        let actual = self.log.head(p).await?.revision;
        Err(LedgerError::Conflict {
            partnership_id: p.clone(),
            expected: cached.head.revision,
            actual,
        })
    }

    /// The digests of the partnership's stored values that `who` matches, and those its
    /// earlier erasures named.
    async fn matching(
        &self,
        p: &PartnershipId,
        who: &Forget,
    ) -> Result<(BTreeSet<Digest>, BTreeSet<Digest>), LedgerError> {
        let stored = self.log.read_partnership(p, 0).await?;
        let mut events = Vec::new();
        let mut wanted = BTreeSet::new();
        for s in &stored {
            let (_, commit) = s.decode()?;
            for mut e in commit.events {
                wanted.extend(e.digests().map_err(|(path, bad)| LogError::Corrupt {
                    position: s.position,
                    message: format!("{path}: {bad}"),
                })?);
                events.push(e);
            }
        }
        let before = erased(events.iter().map(|e| e.stored()));
        let wanted: Vec<Digest> = wanted.difference(&before).copied().collect();
        let disclosed = self.log.disclosures(&wanted).await?;
        let matching = events
            .iter_mut()
            .flat_map(|e| e.matching(who, &disclosed))
            .collect();
        Ok((matching, before))
    }
}

#[cfg(test)]
#[path = "forget_tests.rs"]
mod tests;
