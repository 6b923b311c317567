//! What each red-flag rule decides from the figures it reads, and the flag it raises: shared by
//! the linear fold (`flag_fold`) and the test oracle that evaluates every instant from scratch, so
//! the two can differ only in how they gather the figures.

use time::{Duration, OffsetDateTime};

use super::asymmetry::{Indicator, PairAsymmetry, dependence};
use super::flags::{Flag, Rule, Severity};
use crate::event::{RevenueReported, RoleAssigned, SelectionBasis};
use crate::ids::{EventId, ItemId, OrgId};

/// Day counts of the rules *(settings)*: R3, R9/R12, R7.
pub(crate) const R3_DAYS: i64 = 30;
pub(crate) const R9_R12_DAYS: i64 = 90;
pub(crate) const R7_DAYS: i64 = 365;
pub(crate) const R14_DAYS: i64 = 14;
/// R8: a liaison seat vacant longer than this.
pub(crate) const R8_VACANT_DAYS: i64 = 14;
/// R13: `us_them` share over the tags of this window.
pub(crate) const R13_DAYS: i64 = 90;
/// R15: a joint customer should be highlighted within this many days of the won deal.
pub(crate) const R15_DAYS: i64 = 180;
/// R16: the window of a trust drop, how far trust must fall within it, and the evidence (r + s)
/// both of its ends need for the fall to count (as for a low score).
pub(crate) const R16_DAYS: i64 = 90;
const R16_DROP: f64 = 0.15;
const R16_MIN_EVIDENCE: f64 = 3.0;

pub(crate) fn flag(
    rule: Rule,
    subject: Option<String>,
    severity: Severity,
    reason: String,
    evidence: Vec<EventId>,
) -> Flag {
    Flag {
        rule_id: rule,
        flag: rule.name(),
        subject,
        severity,
        reason,
        evidence,
    }
}

/// R1 for the ordered pair `a>b`: `initiations` are the last (up to) three meeting requests and
/// follow-ups by a or b, of `count` in all; `moved` what b did to each of the last (up to) three
/// meetings scheduled (`scheduled` of them), when b cancelled or rescheduled it.
pub(crate) fn unwilling_partner(
    a: &OrgId,
    b: &OrgId,
    (count, initiations): (usize, &[(&OrgId, EventId)]),
    (scheduled, moved): (usize, Vec<EventId>),
    out: &mut Vec<Flag>,
) {
    let by_a = |n: usize| {
        count >= n
            && initiations[initiations.len() - n..]
                .iter()
                .all(|(o, _)| *o == a)
    };
    let last = |n: usize| {
        initiations[initiations.len() - n..]
            .iter()
            .map(|(_, id)| *id)
            .collect()
    };
    let mut found: Vec<(Severity, String, Vec<EventId>)> = Vec::new();
    if by_a(3) {
        found.push((
            Severity::Critical,
            format!("{a} made the last three requests and follow-ups; {b} made none"),
            last(3),
        ));
    } else if by_a(2) {
        found.push((
            Severity::Warn,
            format!("{a} made the last two requests and follow-ups"),
            last(2),
        ));
    }
    if scheduled == 3 && moved.len() == 3 {
        found.push((
            Severity::Critical,
            format!("{b} cancelled or rescheduled each of the last three meetings"),
            moved,
        ));
    } else if moved.len() >= 2 {
        found.push((
            Severity::Warn,
            format!(
                "{b} cancelled or rescheduled {} of the last three meetings",
                moved.len()
            ),
            moved,
        ));
    }
    if let Some(severity) = found.iter().map(|f| f.0).max() {
        out.push(flag(
            Rule::R1,
            Some(format!("{a}>{b}")),
            severity,
            found
                .iter()
                .map(|f| f.1.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            found.into_iter().flat_map(|f| f.2).collect(),
        ));
    }
}

/// R2: an org's latest revenue report shows it relies on partners. Materiality first: the
/// partnership (its other parties, `others`) brings at least half of its revenue; or its partner
/// revenue is at least half of its revenue and concentrated (HHI ≥ 0.25).
pub(crate) fn over_reliance(
    org: &OrgId,
    others: &[OrgId],
    r: &RevenueReported,
    id: EventId,
    out: &mut Vec<Flag>,
) {
    let d = dependence(r, others);
    let percent = |x: f64| format!("{:.0}%", x * 100.0);
    let reason = match (d.through, d.partner_share, d.hhi) {
        (Some(through), _, _) if through >= 0.5 => format!(
            "{org} earns {} of its revenue through {}",
            percent(through),
            others
                .iter()
                .map(OrgId::as_str)
                .collect::<Vec<_>>()
                .join(" and ")
        ),
        (_, Some(share), Some(hhi)) if share >= 0.5 && hhi >= 0.25 => format!(
            "{org} earns {} of its revenue through partners, concentrated: HHI {hhi:.2}",
            percent(share)
        ),
        _ => return,
    };
    out.push(flag(
        Rule::R2,
        Some(org.to_string()),
        Severity::Warn,
        reason,
        vec![id],
    ));
}

/// The parties of the partnership but `org`.
pub(crate) fn others(parties: &[OrgId], org: &OrgId) -> Vec<OrgId> {
    parties.iter().filter(|p| *p != org).cloned().collect()
}

/// R3: active for 30 days (since `since`) without goals covering every kind.
pub(crate) fn no_success_metrics(since: OffsetDateTime) -> Flag {
    flag(
        Rule::R3,
        None,
        Severity::Warn,
        format!(
            "active since {} without agreed goals covering qualitative, marketing and sales",
            since.date()
        ),
        Vec::new(),
    )
}

/// R4 for `org`: its incentive changes `(occurred_at, partner credit, event)` in order, whether a
/// deal was registered (the first), and since when the partnership is active, if it is.
pub(crate) fn incentives(
    org: &OrgId,
    changes: &[(OffsetDateTime, f64, EventId)],
    deal: Option<EventId>,
    active: Option<OffsetDateTime>,
    out: &mut Vec<Flag>,
) {
    let cut_after_activation = changes
        .windows(2)
        .any(|w| w[1].1 < w[0].1 && active.is_some_and(|since| w[1].0 >= since));
    match changes.last() {
        Some((_, pct, _)) if *pct < 1.0 => out.push(flag(
            Rule::R4,
            Some(org.to_string()),
            if cut_after_activation {
                Severity::Critical
            } else {
                Severity::Warn
            },
            format!("{org}'s reps earn {:.0}% on a partner deal", pct * 100.0),
            changes.iter().map(|(_, _, id)| *id).collect(),
        )),
        None if deal.is_some() => out.push(flag(
            Rule::R4,
            Some(org.to_string()),
            Severity::Warn,
            format!("deals are registered and {org} never recorded its sales incentive"),
            deal.into_iter().collect(),
        )),
        _ => {}
    }
}

/// R5: `open_top` open items are top priority and `unowned` have no owner; `evidence` gives
/// them (see [`focus_evidence`]).
pub(crate) fn no_focus(
    (open_top, unowned): (i64, i64),
    evidence: impl FnOnce() -> Vec<EventId>,
    out: &mut Vec<Flag>,
) {
    if open_top <= 2 && unowned == 0 {
        return;
    }
    let mut why = Vec::new();
    if open_top > 2 {
        why.push(format!("{open_top} top-priority items are open"));
    }
    if unowned > 0 {
        why.push(format!("{unowned} open items have no owner"));
    }
    out.push(flag(
        Rule::R5,
        None,
        Severity::Warn,
        why.join("; "),
        evidence(),
    ));
}

/// R5's evidence: the open top-priority items, then the unowned ones (an item both is one
/// piece of evidence), in item order.
pub(crate) fn focus_evidence(open_top: &[EventId], unowned: &[EventId]) -> Vec<EventId> {
    open_top
        .iter()
        .chain(unowned.iter().filter(|id| !open_top.contains(id)))
        .copied()
        .collect()
}

/// Whether an item slipped: changed twice, or moved more than 30 days from its original date.
pub(crate) fn slipped(changes: u32, original: time::Date, latest: Option<time::Date>) -> bool {
    let days = latest.map_or(0, |l| (l - original).whole_days());
    changes >= 2 || days > 30
}

/// The quarter before `t`'s, as `(year, quarter)`.
pub(crate) fn last_quarter(t: OffsetDateTime) -> (i32, u8) {
    let (year, q) = (t.year(), (u8::from(t.month()) - 1) / 3 + 1);
    if q == 1 { (year - 1, 4) } else { (year, q - 1) }
}

/// R6: `slipped` items slipped (`evidence` gives them), and each owner's PPC of the last
/// quarter.
pub(crate) fn slippage(
    (slipped, evidence): (i64, impl FnOnce() -> Vec<EventId>),
    (year, q): (i32, u8),
    ppc: &[(OrgId, Option<f64>)],
    out: &mut Vec<Flag>,
) {
    let low_ppc: Vec<String> = ppc
        .iter()
        .filter(|(_, ppc)| ppc.is_some_and(|p| p < 0.80))
        .map(|(owner, _)| owner.to_string())
        .collect();
    if slipped == 0 && low_ppc.is_empty() {
        return;
    }
    let mut why = Vec::new();
    if slipped > 0 {
        why.push(format!(
            "{slipped} items slipped twice or by more than 30 days"
        ));
    }
    if !low_ppc.is_empty() {
        why.push(format!(
            "{year}-Q{q} PPC under 0.80 for {}",
            low_ppc.join(", ")
        ));
    }
    out.push(flag(
        Rule::R6,
        None,
        Severity::Warn,
        why.join("; "),
        evidence(),
    ));
}

pub(crate) fn no_in_person() -> Flag {
    flag(
        Rule::R7,
        None,
        Severity::Warn,
        "no meeting held in person in the last 365 days".into(),
        Vec::new(),
    )
}

/// R8 for `org`: its liaison seat vacant since `vacant` (with the event that emptied it) at
/// `t`, or its exec sponsors `(assignment, event)`.
pub(crate) fn liaison_gap<'r>(
    org: &OrgId,
    vacant: Option<(OffsetDateTime, Option<EventId>)>,
    sponsors: impl IntoIterator<Item = (&'r RoleAssigned, EventId)>,
    t: OffsetDateTime,
    out: &mut Vec<Flag>,
) {
    if let Some((from, because)) = vacant
        && t - from > Duration::days(R8_VACANT_DAYS)
    {
        out.push(flag(
            Rule::R8,
            Some(org.to_string()),
            Severity::Warn,
            format!("{org} has had no liaison since {}", from.date()),
            because.into_iter().collect(),
        ));
        return;
    }
    let token: Vec<EventId> = sponsors
        .into_iter()
        .filter(|(r, _)| {
            r.allocation_pct < 5.0 || r.selection_basis == SelectionBasis::Availability
        })
        .map(|(_, id)| id)
        .collect();
    if !token.is_empty() {
        out.push(flag(
            Rule::R8,
            Some(org.to_string()),
            Severity::Warn,
            format!("{org}'s exec sponsor gives under 5% or was picked for availability"),
            token,
        ));
    }
}

pub(crate) fn silent_indicators() -> Flag {
    flag(
        Rule::R9,
        None,
        Severity::Warn,
        "no indicator recorded in the last 90 days".into(),
        Vec::new(),
    )
}

/// R10 over the ordered pairs of the asymmetry model: once per pair of parties, named `a>b` for
/// the side that bears more.
pub(crate) fn imbalance(pairs: &[PairAsymmetry], out: &mut Vec<Flag>) {
    // In-person meetings at the other's site: `(count, of)` when the travel share is lopsided.
    let travel = |p: &PairAsymmetry| {
        p.shares
            .iter()
            .find(|s| s.indicator == Indicator::Travel)
            .filter(|s| s.of >= 5 && s.share.is_some_and(|x| x >= 0.8))
            .map(|s| (s.count, s.of))
    };
    for ab in pairs.iter().filter(|p| p.a < p.b) {
        let Some(ba) = pairs.iter().find(|p| p.a == ab.b && p.b == ab.a) else {
            continue;
        };
        // Who bears more: the lean says, else the dependence, else who travels.
        let sign = |x: Option<f64>| x.filter(|x| *x != 0.0).map(f64::is_sign_positive);
        let a_bears = sign(ab.lean)
            .or(sign(ab.economic.da_over_jd))
            .or(travel(ab).map(|_| true))
            .or(travel(ba).map(|_| false))
            .unwrap_or(true);
        let p = if a_bears { ab } else { ba };
        let mut why = Vec::new();
        if let Some(bi) = p.balance_index.filter(|bi| *bi < 0.6) {
            why.push(format!("balance index {bi:.2}"));
        }
        if let Some(r) = p.economic.da_over_jd.filter(|r| r.abs() >= 0.5) {
            why.push(format!("dependence asymmetry DA/JD {r:.2}"));
        }
        for (q, (count, of)) in [ab, ba].into_iter().filter_map(|q| Some((q, travel(q)?))) {
            why.push(format!(
                "{count} of {of} in-person meetings at {}'s site",
                q.b
            ));
        }
        if !why.is_empty() {
            let evidence = p
                .shares
                .iter()
                .filter(|s| s.sufficient)
                .flat_map(|s| s.evidence.iter().copied())
                .chain(p.economic.evidence.iter().copied())
                .collect();
            out.push(flag(
                Rule::R10,
                Some(format!("{}>{}", p.a, p.b)),
                Severity::Warn,
                why.join("; "),
                evidence,
            ));
        }
    }
}

/// R11: governance (its event) defined before the business plan was agreed (its event, if it
/// was).
pub(crate) fn governance_before_plan(
    governance: (OffsetDateTime, EventId),
    plan: Option<(OffsetDateTime, EventId)>,
    out: &mut Vec<Flag>,
) {
    if plan.is_none_or(|plan| governance.0 < plan.0) {
        out.push(flag(
            Rule::R11,
            None,
            Severity::Warn,
            "governance was defined before a business plan was agreed".into(),
            std::iter::once(governance.1)
                .chain(plan.map(|p| p.1))
                .collect(),
        ));
    }
}

pub(crate) fn no_exit_procedure() -> Flag {
    flag(
        Rule::R12,
        None,
        Severity::Warn,
        "active for 90 days or more without an exit procedure".into(),
        Vec::new(),
    )
}

/// R13 for `org`: `us_them` of its `of` tags of the last 90 days say us and them; `evidence`
/// gives those.
pub(crate) fn us_and_them(
    org: &OrgId,
    (us_them, of): (usize, usize),
    evidence: impl FnOnce() -> Vec<EventId>,
    out: &mut Vec<Flag>,
) {
    if of >= 5 && us_them as f64 / of as f64 >= 0.7 {
        out.push(flag(
            Rule::R13,
            Some(org.to_string()),
            Severity::Warn,
            format!("{us_them} of {org}'s last {of} tagged communications say us and them"),
            evidence(),
        ));
    }
}

/// R14: proposed (its event) because a competitor did it, or activated (its event) within 14
/// days with no business plan agreed by then (`plan_at`).
pub(crate) fn fomo(
    proposal: (OffsetDateTime, EventId, bool),
    activation: Option<(OffsetDateTime, EventId)>,
    plan_at: Option<OffsetDateTime>,
    out: &mut Vec<Flag>,
) {
    let (proposed, proposal_id, competitor) = proposal;
    if competitor {
        out.push(flag(
            Rule::R14,
            None,
            Severity::Warn,
            "proposed because a competitor did it".into(),
            vec![proposal_id],
        ));
        return;
    }
    if let Some((active, active_id)) = activation
        && active - proposed < Duration::days(R14_DAYS)
        && plan_at.is_none_or(|plan| plan > active)
    {
        out.push(flag(
            Rule::R14,
            None,
            Severity::Warn,
            "active within 14 days of the proposal, with no business plan".into(),
            vec![proposal_id, active_id],
        ));
    }
}

/// R15 for a won joint deal nobody highlighted within 180 days.
pub(crate) fn joint_customer_unsung(deal_id: &ItemId, id: EventId) -> Flag {
    flag(
        Rule::R15,
        Some(deal_id.to_string()),
        Severity::Warn,
        format!("joint customer of deal {deal_id} never highlighted"),
        vec![id],
    )
}

/// An org's trust at one instant: decayed evidence r and s, and the score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Standing {
    pub r: f64,
    pub s: f64,
    pub score: f64,
}

/// R16 for `org`: its standing now and 90 days earlier (if it was a party then), and the
/// negative evidence of those 90 days.
pub(crate) fn trust_falling(
    org: &OrgId,
    now: Standing,
    then: Option<Standing>,
    negative: impl FnOnce() -> Vec<EventId>,
    out: &mut Vec<Flag>,
) {
    let enough = |o: &Standing| o.r + o.s >= R16_MIN_EVIDENCE;
    let drop = then
        .filter(|then| enough(then) && enough(&now))
        .map(|then| then.score - now.score)
        .filter(|drop| *drop >= R16_DROP);
    let low = now.score < 0.5 && enough(&now);
    if drop.is_none() && !low {
        return;
    }
    let reason = match drop {
        Some(drop) => format!(
            "{org}'s trust fell by {drop:.2} to {:.2} within 90 days",
            now.score
        ),
        None => format!(
            "{org}'s trust is {:.2} on {:.1} pieces of evidence",
            now.score,
            now.r + now.s
        ),
    };
    out.push(flag(
        Rule::R16,
        Some(org.to_string()),
        Severity::Warn,
        reason,
        negative(),
    ));
}
