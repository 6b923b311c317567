//! The read models as the analytics feed publishes them (`accord/v1/analytics.proto`): one
//! message per model, its enumerations as the snake_case names the JSON API uses. The lists that
//! grow with a partnership's history hold their last [`LIST_LIMIT`] entries beside their total,
//! so that an update's size does not grow with the partnership.

use accord_domain::PartnershipId;
use accord_domain::models::{
    ReadModel, asymmetry as asy, flags as fl, goals as go, summary as su, throughput as th,
    trust as tr,
};
use prost::Message;

use crate::convert::{period_pb, strs, timestamp};
use crate::pb;

/// A read model as one analytics message: the name of its protobuf schema (the message's full
/// name, carried in the `Accord-Schema` header) and its encoded bytes.
pub fn encode(partnership_id: &PartnershipId, model: &ReadModel) -> (&'static str, Vec<u8>) {
    let p = partnership_id.to_string();
    match model {
        ReadModel::Trust(m) => ("accord.v1.TrustTimeline", trust(p, m).encode_to_vec()),
        ReadModel::Throughput(m) => ("accord.v1.Throughput", throughput(p, m).encode_to_vec()),
        ReadModel::Asymmetry(m) => ("accord.v1.Asymmetry", asymmetry(p, m).encode_to_vec()),
        ReadModel::Goals(m) => ("accord.v1.Goals", goals(p, m).encode_to_vec()),
        ReadModel::Flags(m) => ("accord.v1.Flags", flags(p, m).encode_to_vec()),
        ReadModel::Summary(m) => ("accord.v1.Summary", summary(p, m).encode_to_vec()),
    }
}

/// Entries kept of a list that grows with the history (the last ones).
pub const LIST_LIMIT: usize = 100;

/// The last [`LIST_LIMIT`] of `list`, and how many there are.
fn recent<T>(list: &[T]) -> (&[T], u32) {
    (
        &list[list.len().saturating_sub(LIST_LIMIT)..],
        count(list.len()),
    )
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The last [`LIST_LIMIT`] ids of `list`, as strings.
fn recent_strs<T: ToString>(list: &[T]) -> Vec<String> {
    strs(recent(list).0)
}

fn name<T: Into<&'static str>>(v: T) -> String {
    let s: &'static str = v.into();
    s.to_owned()
}

fn trust(partnership_id: String, m: &tr::TrustTimeline) -> pb::TrustTimeline {
    pb::TrustTimeline {
        partnership_id,
        as_of: Some(timestamp(m.as_of)),
        valid_at: Some(timestamp(m.valid_at)),
        orgs: m
            .orgs
            .iter()
            .map(|o| pb::OrgTrust {
                org: o.org.to_string(),
                r: o.r,
                s: o.s,
                score: o.score,
                band: name(o.band),
                // The model may hold the last points only (`Lists::Last`); it keeps their total.
                points_total: count(o.points_total),
                points: recent(&o.points)
                    .0
                    .iter()
                    .map(|p| pb::TrustPoint {
                        at: Some(timestamp(p.at)),
                        event_id: p.event_id.to_string(),
                        rule_id: name(p.rule_id),
                        score_before: p.score_before,
                        score_after: p.score_after,
                        delta: p.delta,
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn flow(f: &th::Flow) -> pb::Flow {
    pb::Flow {
        period: f.period.clone(),
        throughput: f.throughput,
        wip: f.wip,
        due: f.due,
        ppc: f.ppc,
        focus: f.focus,
    }
}

fn throughput(partnership_id: String, m: &th::Throughput) -> pb::Throughput {
    pb::Throughput {
        partnership_id,
        as_of: Some(timestamp(m.as_of)),
        valid_at: Some(timestamp(m.valid_at)),
        owners: m
            .owners
            .iter()
            .map(|o| pb::OwnerThroughput {
                owner_org: o.owner_org.to_string(),
                weeks: o.weeks.iter().map(flow).collect(),
                quarters: o.quarters.iter().map(flow).collect(),
                open_items_total: recent(&o.open_items).1,
                open_items: recent(&o.open_items)
                    .0
                    .iter()
                    .map(|i| pb::OpenItem {
                        deliverable_id: i.deliverable_id.to_string(),
                        age_days: i.age_days,
                        started: i.started,
                    })
                    .collect(),
                cycle_time_p50: o.cycle_time_p50,
                cycle_time_p85: o.cycle_time_p85,
                on_time_original: o.on_time_original,
                on_time_latest: o.on_time_latest,
                slips: o.slips,
                slip_days: o.slip_days,
                evidence: recent_strs(&o.evidence),
                evidence_total: recent(&o.evidence).1,
            })
            .collect(),
    }
}

fn asymmetry(partnership_id: String, m: &asy::Asymmetry) -> pb::Asymmetry {
    pb::Asymmetry {
        partnership_id,
        as_of: Some(timestamp(m.as_of)),
        valid_at: Some(timestamp(m.valid_at)),
        pairs: m
            .pairs
            .iter()
            .map(|p| pb::PairAsymmetry {
                a: p.a.to_string(),
                b: p.b.to_string(),
                shares: p
                    .shares
                    .iter()
                    .map(|s| pb::Share {
                        indicator: name(s.indicator),
                        count: s.count,
                        of: s.of,
                        share: s.share,
                        sufficient: s.sufficient,
                        evidence: recent_strs(&s.evidence),
                        evidence_total: recent(&s.evidence).1,
                    })
                    .collect(),
                lean: p.lean,
                balance_index: p.balance_index,
                economic: Some(pb::Economic {
                    d_a: p.economic.d_a,
                    d_b: p.economic.d_b,
                    dependence_asymmetry: p.economic.da,
                    joint_dependence: p.economic.jd,
                    da_over_jd: p.economic.da_over_jd,
                    hhi_a: p.economic.hhi_a,
                    partner_revenue_share_a: p.economic.partner_revenue_share_a,
                    evidence: recent_strs(&p.economic.evidence),
                    evidence_total: recent(&p.economic.evidence).1,
                }),
            })
            .collect(),
    }
}

fn coverage(c: &go::Coverage) -> pb::Coverage {
    pb::Coverage {
        qualitative: c.qualitative,
        marketing: c.marketing,
        sales: c.sales,
        complete: c.complete,
    }
}

fn goals(partnership_id: String, m: &go::Goals) -> pb::Goals {
    pb::Goals {
        partnership_id,
        as_of: Some(timestamp(m.as_of)),
        valid_at: Some(timestamp(m.valid_at)),
        goals: m
            .goals
            .iter()
            .map(|g| pb::GoalAttainment {
                goal_id: g.goal_id.to_string(),
                kind: g.kind.as_str().to_owned(),
                metric: g.metric.as_str().to_owned(),
                target: g.target.to_string(),
                period: Some(period_pb(&g.period)),
                actual: g.actual.to_string(),
                attainment: g.attainment,
                elapsed: g.elapsed,
                status: name(g.status),
                agreed_by: strs(&g.agreed_by),
                evidence: recent_strs(&g.evidence),
                evidence_total: recent(&g.evidence).1,
            })
            .collect(),
        coverage: Some(coverage(&m.coverage)),
    }
}

fn flag(f: &fl::Flag) -> pb::Flag {
    pb::Flag {
        rule_id: name(f.rule_id),
        flag: f.flag.to_owned(),
        subject: f.subject.clone(),
        severity: name(f.severity),
        reason: f.reason.clone(),
        evidence: recent_strs(&f.evidence),
        evidence_total: recent(&f.evidence).1,
    }
}

fn flags(partnership_id: String, m: &fl::Flags) -> pb::Flags {
    pb::Flags {
        partnership_id,
        as_of: Some(timestamp(m.as_of)),
        valid_at: Some(timestamp(m.valid_at)),
        open: m.open.iter().map(flag).collect(),
        history_total: count(m.history_total),
        history: recent(&m.history)
            .0
            .iter()
            .map(|c| pb::FlagChange {
                at: Some(timestamp(c.at)),
                rule_id: name(c.rule_id),
                subject: c.subject.clone(),
                now: c.now.as_ref().map(flag),
            })
            .collect(),
    }
}

fn summary(partnership_id: String, m: &su::Summary) -> pb::Summary {
    pb::Summary {
        partnership_id,
        as_of: Some(timestamp(m.as_of)),
        valid_at: Some(timestamp(m.valid_at)),
        status: m.status.map(|s| s.as_str().to_owned()),
        trust: m
            .trust
            .iter()
            .map(|t| pb::TrustBand {
                org: t.org.to_string(),
                score: t.score,
                band: name(t.band),
            })
            .collect(),
        balance: m
            .balance
            .iter()
            .map(|b| pb::Balance {
                a: b.a.to_string(),
                b: b.b.to_string(),
                balance_index: b.balance_index,
                lean: b.lean,
            })
            .collect(),
        open_flags: m.open_flags.iter().map(flag).collect(),
        goal_coverage: Some(coverage(&m.goal_coverage)),
        goals: Some(pb::GoalCounts {
            not_agreed: m.goals.not_agreed,
            achieved: m.goals.achieved,
            on_track: m.goals.on_track,
            behind: m.goals.behind,
            missed: m.goals.missed,
            dropped: m.goals.dropped,
        }),
    }
}

#[cfg(test)]
mod tests {
    use accord_domain::models::trust::{Band, OrgTrust, Rule, TrustPoint, TrustTimeline};
    use accord_domain::{EventId, OrgId, PartnershipId};
    use prost::Message;
    use time::macros::datetime;

    use super::{LIST_LIMIT, encode};
    use crate::pb;

    fn point(n: u128) -> TrustPoint {
        TrustPoint {
            at: datetime!(2026-01-01 00:00 UTC) + time::Duration::hours(n as i64),
            event_id: EventId::from_uuid(uuid::Uuid::from_u128(n + 1)),
            rule_id: Rule::T7,
            score_before: 0.5,
            score_after: 0.6,
            delta: 0.1,
        }
    }

    /// A long list keeps its last entries and says how many there are; a short one is whole.
    #[test]
    fn long_lists_keep_their_last_entries_and_their_total() {
        let p = PartnershipId::parse("acme-stmary").expect("a slug");
        for n in [3, LIST_LIMIT as u128 + 50] {
            let points: Vec<TrustPoint> = (0..n).map(point).collect();
            let model = accord_domain::models::ReadModel::Trust(TrustTimeline {
                as_of: datetime!(2026-06-01 00:00 UTC),
                valid_at: datetime!(2026-06-01 00:00 UTC),
                orgs: vec![OrgTrust {
                    org: OrgId::parse("acme").expect("an org"),
                    r: 1.0,
                    s: 0.0,
                    score: 0.6,
                    band: Band::Watch,
                    points: points.clone(),
                    points_total: points.len(),
                }],
            });
            let (_, bytes) = encode(&p, &model);
            let decoded = pb::TrustTimeline::decode(bytes.as_slice()).expect("decodes");
            let org = &decoded.orgs[0];
            assert_eq!(org.points_total as u128, n);
            let kept: Vec<String> = org.points.iter().map(|p| p.event_id.clone()).collect();
            let last: Vec<String> = points[points.len().saturating_sub(LIST_LIMIT)..]
                .iter()
                .map(|p| p.event_id.to_string())
                .collect();
            assert_eq!(kept, last);
        }
    }
}
