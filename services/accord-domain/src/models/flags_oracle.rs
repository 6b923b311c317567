//! The red flags evaluated the simple way, for the tests: at every instant, every rule reads the
//! whole prefix of events occurred by then, from scratch. Quadratic, and obviously what the rules
//! say; the linear fold (`flag_fold`) must give exactly the same flags and history.

use std::collections::{BTreeMap, BTreeSet};

use time::{Duration, OffsetDateTime};

use super::flag_rules::{self as rules, *};
use super::flags::{Flag, FlagSource, Flags, Open, step};
use super::goals::goals_of;
use super::trust::{OrgTrust, trust_of};
use super::{Axes, ModelSettings, known};
use crate::event::{CommunicationClass, Event, Payload, RoleAssigned, RoleKind, Status};
use crate::ids::{EventId, ItemId, OrgId};

/// Red flags at `axes`, each instant evaluated from scratch.
pub(super) fn flags(events: &[Event], axes: Axes, settings: &ModelSettings) -> Flags {
    let effective = known(events, axes);
    let mut source = FromScratch {
        effective: &effective,
        settings,
    };
    let mut open = Open::new();
    let mut history = Vec::new();
    for t in instants(&effective, axes.valid_at) {
        step(&mut source, t, &mut open, &mut history);
    }
    Flags {
        as_of: axes.as_of,
        valid_at: axes.valid_at,
        open: open.into_values().collect(),
        history_total: history.len(),
        history,
    }
}

/// Every instant something can change, up to `valid_at`: each event's time, the days when an
/// "active for N days" rule, a vacancy or an unsung deal comes due, and `valid_at`.
fn instants(effective: &[Event], valid_at: OffsetDateTime) -> Vec<OffsetDateTime> {
    let mut instants: BTreeSet<OffsetDateTime> = effective.iter().map(|e| e.occurred_at).collect();
    if let Some(first) = activation(effective).map(|e| e.occurred_at) {
        for days in [R3_DAYS, R9_R12_DAYS, R7_DAYS] {
            instants.insert(first + Duration::days(days));
        }
        instants.insert(first + Duration::days(R8_VACANT_DAYS) + Duration::SECOND);
    }
    for e in effective {
        match &e.payload {
            Payload::RoleUnassigned(_) => {
                instants.insert(e.occurred_at + Duration::days(R8_VACANT_DAYS) + Duration::SECOND);
            }
            Payload::DealClosed(d) if d.won && d.joint_customer => {
                instants.insert(e.occurred_at + Duration::days(R15_DAYS) + Duration::SECOND);
            }
            _ => {}
        }
    }
    instants.insert(valid_at);
    instants.range(..=valid_at).copied().collect()
}

/// Every rule over the events occurred by each instant, their flags whole.
struct FromScratch<'e> {
    effective: &'e [Event],
    settings: &'e ModelSettings,
}

impl FlagSource for FromScratch<'_> {
    fn at(&mut self, t: OffsetDateTime) -> Vec<Flag> {
        let upto = &self.effective[..self.effective.partition_point(|e| e.occurred_at <= t)];
        evaluate(upto, t, self.settings)
    }

    fn complete(&mut self, _: &mut Flag) {}
}

/// The event that first made the partnership active.
fn activation(events: &[Event]) -> Option<&Event> {
    events.iter().find(|e| {
        matches!(&e.payload, Payload::PartnershipStatusChanged(s)
            if matches!(s.status, Status::Active | Status::Renewed))
    })
}

/// Whether the partnership is active at the end of `events`, and since its first activation.
fn active_since(events: &[Event]) -> Option<OffsetDateTime> {
    let first = activation(events)?.occurred_at;
    let last_status = events.iter().rev().find_map(|e| match &e.payload {
        Payload::PartnershipStatusChanged(s) => Some(s.status),
        _ => None,
    });
    matches!(last_status, Some(Status::Active | Status::Renewed)).then_some(first)
}

/// The flags that hold after `events` (those in effect that occurred by `t`, in business-time
/// order), at `t`.
fn evaluate(events: &[Event], t: OffsetDateTime, settings: &ModelSettings) -> Vec<Flag> {
    let mut out = Vec::new();
    let parties: Vec<OrgId> = events
        .iter()
        .find_map(|e| match &e.payload {
            Payload::PartnershipProposed(p) => {
                Some(p.parties.iter().map(|p| p.org.clone()).collect())
            }
            _ => None,
        })
        .unwrap_or_default();
    unwilling_partner(events, &parties, &mut out);
    let active = active_since(events);
    let active_for = |days: i64| active.filter(|since| t - *since >= Duration::days(days));
    if let Some(since) = active_for(R3_DAYS)
        && !goals_of(events, Axes::at(t)).coverage.complete
    {
        out.push(rules::no_success_metrics(since));
    }
    if active_for(R7_DAYS).is_some()
        && !events.iter().any(|e| {
            matches!(&e.payload, Payload::MeetingHeld(m) if m.in_person)
                && t - e.occurred_at < Duration::days(R7_DAYS)
        })
    {
        out.push(rules::no_in_person());
    }
    if active_for(R9_R12_DAYS).is_some() {
        if !events.iter().any(|e| {
            matches!(e.payload, Payload::IndicatorRecorded(_))
                && t - e.occurred_at < Duration::days(R9_R12_DAYS)
        }) {
            out.push(rules::silent_indicators());
        }
        if !events
            .iter()
            .any(|e| matches!(e.payload, Payload::ExitProcedureDefined(_)))
        {
            out.push(rules::no_exit_procedure());
        }
    }
    let plan = plan_agreed(events, &parties).map(|e| (e.occurred_at, e.event_id));
    if let Some(governance) = events
        .iter()
        .find(|e| matches!(e.payload, Payload::GovernanceDefined(_)))
    {
        rules::governance_before_plan(
            (governance.occurred_at, governance.event_id),
            plan,
            &mut out,
        );
    }
    if let Some(proposal) = events
        .iter()
        .find(|e| matches!(e.payload, Payload::PartnershipProposed(_)))
        && let Payload::PartnershipProposed(p) = &proposal.payload
    {
        let competitor = p.rationale_tags.iter().any(|t| t == "competitor_did_it");
        rules::fomo(
            (proposal.occurred_at, proposal.event_id, competitor),
            activation(events).map(|e| (e.occurred_at, e.event_id)),
            plan.map(|p| p.0),
            &mut out,
        );
    }
    let mut latest = BTreeMap::new();
    for e in events {
        if let Payload::RevenueReported(r) = &e.payload {
            latest.insert(&r.org, (r, e.event_id));
        }
    }
    for (org, (r, id)) in latest {
        rules::over_reliance(org, &rules::others(&parties, org), r, id, &mut out);
    }
    let deal = events
        .iter()
        .find(|e| matches!(e.payload, Payload::DealRegistered(_)))
        .map(|e| e.event_id);
    for org in &parties {
        let changes: Vec<(OffsetDateTime, f64, EventId)> = events
            .iter()
            .filter_map(|e| match &e.payload {
                Payload::SalesIncentiveChanged(s) if &s.org == org => {
                    Some((e.occurred_at, s.partner_deal_credit_pct, e.event_id))
                }
                _ => None,
            })
            .collect();
        rules::incentives(org, &changes, deal, active, &mut out);
    }
    focus_and_slippage(events, t, &mut out);
    if active.is_some() {
        liaison_gap(events, &parties, t, &mut out);
    }
    let asymmetry = super::asymmetry::asymmetry_of(events, Axes::at(t), &settings.asymmetry);
    rules::imbalance(&asymmetry.pairs, &mut out);
    for org in &parties {
        let tags: Vec<(bool, EventId)> = events
            .iter()
            .filter(|e| t - e.occurred_at < Duration::days(R13_DAYS))
            .filter_map(|e| match &e.payload {
                Payload::CommunicationTagged(c) if &c.org == org => {
                    Some((c.class == CommunicationClass::UsThem, e.event_id))
                }
                _ => None,
            })
            .collect();
        let said = || tags.iter().filter(|(u, _)| *u).map(|(_, id)| *id);
        rules::us_and_them(
            org,
            (said().count(), tags.len()),
            || said().collect(),
            &mut out,
        );
    }
    joint_customer_unsung(events, t, &mut out);
    trust_falling(events, t, settings, &mut out);
    out.sort_by(|a, b| (a.rule_id, &a.subject).cmp(&(b.rule_id, &b.subject)));
    out
}

/// R5 and R6, from the deliverables.
fn focus_and_slippage(events: &[Event], t: OffsetDateTime, out: &mut Vec<Flag>) {
    let mut changes: BTreeMap<&ItemId, (u32, Option<time::Date>, time::Date, EventId)> =
        BTreeMap::new();
    let mut open: BTreeMap<&ItemId, (bool, bool, EventId)> = BTreeMap::new();
    for e in events {
        match &e.payload {
            Payload::DeliverableCommitted(d) => {
                open.insert(
                    &d.deliverable_id,
                    (d.top_priority, d.owner_person.is_some(), e.event_id),
                );
                changes.insert(&d.deliverable_id, (0, None, d.due_date, e.event_id));
            }
            Payload::DeliverableDueDateChanged(d) => {
                if let Some(c) = changes.get_mut(&d.deliverable_id) {
                    c.0 += 1;
                    c.1 = Some(d.new_due);
                }
            }
            Payload::DeliverableCompleted(d) => {
                open.remove(&d.deliverable_id);
            }
            Payload::DeliverableCancelled(d) => {
                open.remove(&d.deliverable_id);
            }
            _ => {}
        }
    }
    let open_top: Vec<EventId> = open.values().filter(|o| o.0).map(|o| o.2).collect();
    let unowned: Vec<EventId> = open.values().filter(|o| !o.1).map(|o| o.2).collect();
    let count = |ids: &[EventId]| ids.len() as i64;
    rules::no_focus(
        (count(&open_top), count(&unowned)),
        || rules::focus_evidence(&open_top, &unowned),
        out,
    );
    let slipped: Vec<EventId> = changes
        .values()
        .filter(|(count, latest, original, _)| rules::slipped(*count, *original, *latest))
        .map(|c| c.3)
        .collect();
    let quarter = rules::last_quarter(t);
    let ppc = super::throughput::quarter_ppc(events, quarter.0, quarter.1);
    rules::slippage((count(&slipped), || slipped), quarter, &ppc, out);
}

/// R8: each party's liaison seat and exec sponsors.
fn liaison_gap(events: &[Event], parties: &[OrgId], t: OffsetDateTime, out: &mut Vec<Flag>) {
    let since = activation(events).map(|e| e.occurred_at);
    for org in parties {
        let mut seated: BTreeSet<&str> = BTreeSet::new();
        let mut vacant_since = since;
        let mut vacant_because = None;
        let mut sponsors: BTreeMap<&str, (&RoleAssigned, EventId)> = BTreeMap::new();
        for e in events {
            match &e.payload {
                Payload::RoleAssigned(r) if &r.org == org => match r.role {
                    RoleKind::Liaison => {
                        seated.insert(&r.person);
                        vacant_since = None;
                    }
                    RoleKind::ExecSponsor => {
                        sponsors.insert(&r.person, (r, e.event_id));
                    }
                    RoleKind::DealOwner => {}
                },
                Payload::RoleUnassigned(r) if &r.org == org => match r.role {
                    RoleKind::Liaison => {
                        seated.remove(r.person.as_str());
                        if seated.is_empty() {
                            vacant_since = Some(e.occurred_at.max(since.unwrap_or(e.occurred_at)));
                            vacant_because = Some(e.event_id);
                        }
                    }
                    RoleKind::ExecSponsor => {
                        sponsors.remove(r.person.as_str());
                    }
                    RoleKind::DealOwner => {}
                },
                _ => {}
            }
        }
        let vacant = vacant_since
            .filter(|_| seated.is_empty())
            .map(|from| (from, vacant_because));
        rules::liaison_gap(org, vacant, sponsors.values().copied(), t, out);
    }
}

/// R15: every won joint deal older than 180 days, unless highlighted within them.
fn joint_customer_unsung(events: &[Event], t: OffsetDateTime, out: &mut Vec<Flag>) {
    for e in events {
        if let Payload::DealClosed(d) = &e.payload
            && d.won
            && d.joint_customer
            && t - e.occurred_at > Duration::days(R15_DAYS)
            && !events.iter().any(|h| {
                matches!(h.payload, Payload::JointCustomerHighlighted(_))
                    && h.occurred_at >= e.occurred_at
                    && h.occurred_at - e.occurred_at <= Duration::days(R15_DAYS)
            })
        {
            out.push(rules::joint_customer_unsung(&d.deal_id, e.event_id));
        }
    }
}

/// R16: each org's trust now and 90 days earlier, each from scratch.
fn trust_falling(
    events: &[Event],
    t: OffsetDateTime,
    settings: &ModelSettings,
    out: &mut Vec<Flag>,
) {
    let standing = |o: &OrgTrust| Standing {
        r: o.r,
        s: o.s,
        score: o.score,
    };
    let now = trust_of(events, Axes::at(t), &settings.trust);
    let earlier = t - Duration::days(R16_DAYS);
    let then = &events[..events.partition_point(|e| e.occurred_at <= earlier)];
    let then = trust_of(then, Axes::at(earlier), &settings.trust);
    for org in &now.orgs {
        let before = then.orgs.iter().find(|o| o.org == org.org).map(standing);
        let negative = || {
            org.points
                .iter()
                .filter(|p| p.delta < 0.0 && t - p.at <= Duration::days(R16_DAYS))
                .map(|p| p.event_id)
                .collect()
        };
        rules::trust_falling(&org.org, standing(org), before, negative, out);
    }
}

/// R1 for each ordered pair of parties.
fn unwilling_partner(events: &[Event], parties: &[OrgId], out: &mut Vec<Flag>) {
    for a in parties {
        for b in parties.iter().filter(|b| *b != a) {
            let initiations: Vec<(&OrgId, EventId)> = events
                .iter()
                .filter_map(|e| match &e.payload {
                    Payload::MeetingRequested(m) => Some((&m.requested_by_org, e.event_id)),
                    Payload::FollowUpProposed(f) => Some((&f.by_org, e.event_id)),
                    _ => None,
                })
                .filter(|(org, _)| *org == a || *org == b)
                .collect();
            let last = &initiations[initiations.len().saturating_sub(3)..];
            // The last three meetings scheduled, and what b did to them.
            let scheduled: Vec<&ItemId> = events
                .iter()
                .filter_map(|e| match &e.payload {
                    Payload::MeetingScheduled(m) => Some(&m.meeting_id),
                    _ => None,
                })
                .collect();
            let recent = &scheduled[scheduled.len().saturating_sub(3)..];
            let moved: Vec<EventId> = recent
                .iter()
                .filter_map(|m| {
                    events.iter().rev().find_map(|e| match &e.payload {
                        Payload::MeetingCancelled(c) if &c.meeting_id == *m && &c.by_org == b => {
                            Some(e.event_id)
                        }
                        Payload::MeetingRescheduled(r) if &r.meeting_id == *m && &r.by_org == b => {
                            Some(e.event_id)
                        }
                        _ => None,
                    })
                })
                .collect();
            rules::unwilling_partner(a, b, (initiations.len(), last), (recent.len(), moved), out);
        }
    }
}

/// The event at which a business plan became agreed: the signature that completed some
/// version's signatories, every party signing for itself.
fn plan_agreed<'e>(events: &'e [Event], parties: &[OrgId]) -> Option<&'e Event> {
    let mut signed: BTreeMap<(&ItemId, u32), BTreeSet<&OrgId>> = BTreeMap::new();
    events.iter().find(|e| match &e.payload {
        Payload::BusinessPlanAgreed(p) => {
            let orgs = signed.entry((&p.plan_id, p.version)).or_default();
            orgs.insert(&p.by_org);
            !parties.is_empty() && parties.iter().all(|o| orgs.contains(o))
        }
        _ => false,
    })
}
