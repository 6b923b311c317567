//! `accord show MODEL ID`: one read model as a readable table (or `--json`), and the same tables
//! for `accord demo`. The API's answer is read back as the typed model it is, so the CLI shows
//! exactly what the API says, and a renamed field is a compile error here.

use std::fmt::Write;
use std::process::ExitCode;

use accord_domain::PartnershipId;
use accord_domain::models::asymmetry::Asymmetry;
use accord_domain::models::flags::{Flag, Flags};
use accord_domain::models::goals::{Coverage, Goals};
use accord_domain::models::summary::Summary;
use accord_domain::models::throughput::Throughput;
use accord_domain::models::trust::TrustTimeline;
use accord_domain::models::{Model, ReadModel};
use accord_domain::values::rfc3339;
use anyhow::{Context, Result};
use time::OffsetDateTime;

use crate::api::{Server, get_json};
use crate::output::Output;
use crate::terminal::Columns;

#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    /// trust, throughput, asymmetry, goals, flags or summary.
    #[arg(value_parser = parse_model)]
    model: Model,
    /// The partnership.
    id: String,
    /// What the ledger knew at this RFC 3339 time (default: now).
    #[arg(long)]
    as_of: Option<String>,
    /// The business time the partnership is evaluated at, RFC 3339 (default: --as-of): how it
    /// stood then, as the ledger knew it at --as-of.
    #[arg(long)]
    valid_at: Option<String>,
    #[command(flatten)]
    output: Output,
    #[command(flatten)]
    server: Server,
}

fn parse_model(s: &str) -> Result<Model, String> {
    Model::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Model::ALL.iter().map(|m| m.as_str()).collect();
        format!("must be one of {}", names.join(", "))
    })
}

pub(crate) async fn show(args: ShowArgs) -> Result<ExitCode> {
    let path = format!("/v1/partnerships/{}/{}", args.id, args.model.as_str());
    let query = [
        ("as_of", args.as_of.as_deref()),
        ("valid_at", args.valid_at.as_deref()),
    ];
    let body = match get_json(&args.server, &args.server.client()?, &path, &query).await? {
        Ok(body) => body,
        Err(code) => return Ok(code),
    };
    if args.output.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        let model = ReadModel::read(args.model, &body)
            .with_context(|| format!("the server's {} is not one", args.model.as_str()))?;
        print!("{}", render(&PartnershipId::parse(&args.id)?, &model));
    }
    Ok(ExitCode::SUCCESS)
}

/// A read model's answer as text.
pub(crate) fn render(p: &PartnershipId, model: &ReadModel) -> String {
    let mut out = String::new();
    let (as_of, valid_at) = model.axes();
    let name = match model {
        ReadModel::Trust(_) => Model::Trust,
        ReadModel::Throughput(_) => Model::Throughput,
        ReadModel::Asymmetry(_) => Model::Asymmetry,
        ReadModel::Goals(_) => Model::Goals,
        ReadModel::Flags(_) => Model::Flags,
        ReadModel::Summary(_) => Model::Summary,
    };
    let _ = write!(
        out,
        "{p} {} as of {}",
        name.as_str(),
        rfc3339::format(as_of)
    );
    if valid_at != as_of {
        let _ = write!(out, ", valid at {}", rfc3339::format(valid_at));
    }
    out.push('\n');
    match model {
        ReadModel::Summary(m) => summary(&mut out, m),
        ReadModel::Trust(m) => trust(&mut out, m),
        ReadModel::Throughput(m) => throughput(&mut out, m),
        ReadModel::Asymmetry(m) => asymmetry(&mut out, m),
        ReadModel::Goals(m) => goals(&mut out, m),
        ReadModel::Flags(m) => flags(&mut out, m),
    }
    out
}

/// A number with two decimals, or `-` when there is none.
fn num(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{x:.2}"))
}

/// A whole number, or `-` when there is none.
fn int(x: Option<impl ToString>) -> String {
    x.map_or_else(|| "-".into(), |x| x.to_string())
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// An instant to the second.
fn second(t: OffsetDateTime) -> String {
    rfc3339::format(t).get(..19).unwrap_or("-").to_owned()
}

fn subject(subject: Option<&str>) -> String {
    subject.map(|s| format!(" ({s})")).unwrap_or_default()
}

fn coverage(c: &Coverage) -> String {
    format!(
        "qualitative {}, marketing {}, sales {}",
        yes_no(c.qualitative),
        yes_no(c.marketing),
        yes_no(c.sales)
    )
}

fn summary(out: &mut String, m: &Summary) {
    let _ = writeln!(out, "  status     {}", m.status.map_or("-", |s| s.as_str()));
    out.push_str(
        &Columns {
            header: &["trust", "score", "band"],
            right: &[1],
        }
        .render(m.trust.iter().map(|t| {
            let band: &'static str = t.band.into();
            vec![t.org.to_string(), num(Some(t.score)), band.to_owned()]
        })),
    );
    for b in &m.balance {
        let _ = writeln!(
            out,
            "  balance    {}/{}  index {}  lean {}",
            b.a,
            b.b,
            b.balance_index
                .map_or_else(|| "- (too few events)".into(), |x| format!("{x:.2}")),
            num(b.lean)
        );
    }
    let g = &m.goals;
    let _ = writeln!(
        out,
        "  goals      coverage: {}; {} achieved, {} on track, {} behind, {} missed, {} not agreed",
        coverage(&m.goal_coverage),
        g.achieved,
        g.on_track,
        g.behind,
        g.missed,
        g.not_agreed
    );
    open_flags(out, &m.open_flags);
}

fn open_flags(out: &mut String, flags: &[Flag]) {
    if flags.is_empty() {
        let _ = writeln!(out, "  red flags  none open");
    }
    for f in flags {
        let (severity, rule): (&'static str, &'static str) = (f.severity.into(), f.rule_id.into());
        let _ = writeln!(
            out,
            "  red flag   {severity:<8} {rule} {}{}: {}",
            f.flag,
            subject(f.subject.as_deref()),
            f.reason
        );
    }
}

fn trust(out: &mut String, m: &TrustTimeline) {
    for o in &m.orgs {
        let band: &'static str = o.band.into();
        let _ = writeln!(
            out,
            "\n{}: score {} ({band}), r {} s {}",
            o.org,
            num(Some(o.score)),
            num(Some(o.r)),
            num(Some(o.s))
        );
        out.push_str(
            &Columns {
                header: &["at", "rule", "before", "after", "delta", "event"],
                right: &[2, 3, 4],
            }
            .render(o.points.iter().map(|p| {
                let rule: &'static str = p.rule_id.into();
                vec![
                    second(p.at),
                    rule.to_owned(),
                    num(Some(p.score_before)),
                    num(Some(p.score_after)),
                    format!("{:+.2}", p.delta),
                    p.event_id.to_string(),
                ]
            })),
        );
    }
}

fn throughput(out: &mut String, m: &Throughput) {
    for o in &m.owners {
        let _ = writeln!(
            out,
            "\n{}: cycle time p50 {} d, p85 (SLE) {} d; on time {} (original due) {} (latest); {} slips, {} slip days; {} open",
            o.owner_org,
            int(o.cycle_time_p50),
            int(o.cycle_time_p85),
            num(o.on_time_original),
            num(o.on_time_latest),
            o.slips,
            o.slip_days,
            o.open_items.len()
        );
        out.push_str(
            &Columns {
                header: &["quarter", "throughput", "wip", "due", "ppc", "focus"],
                right: &[1, 2, 3, 4, 5],
            }
            .render(o.quarters.iter().map(|q| {
                vec![
                    q.period.clone(),
                    q.throughput.to_string(),
                    q.wip.to_string(),
                    int(q.due),
                    num(q.ppc),
                    int(q.focus),
                ]
            })),
        );
    }
}

fn asymmetry(out: &mut String, m: &Asymmetry) {
    for p in &m.pairs {
        let _ = writeln!(
            out,
            "\n{} with {}: lean {}, balance index {}",
            p.a,
            p.b,
            num(p.lean),
            num(p.balance_index)
        );
        out.push_str(
            &Columns {
                header: &["indicator", "count", "of", "share", ""],
                right: &[1, 2, 3],
            }
            .render(p.shares.iter().map(|s| {
                let indicator: &'static str = s.indicator.into();
                vec![
                    indicator.to_owned(),
                    s.count.to_string(),
                    s.of.to_string(),
                    num(s.share),
                    if s.sufficient { "" } else { "(insufficient)" }.to_owned(),
                ]
            })),
        );
        let e = &p.economic;
        let _ = writeln!(
            out,
            "  economic: D_A {}, D_B {}, DA {}, JD {}, DA/JD {}, A's partner revenue share {}, HHI_A {}",
            num(e.d_a),
            num(e.d_b),
            num(e.da),
            num(e.jd),
            num(e.da_over_jd),
            num(e.partner_revenue_share_a),
            num(e.hhi_a)
        );
    }
}

fn goals(out: &mut String, m: &Goals) {
    out.push_str(
        &Columns {
            header: &[
                "goal", "kind", "metric", "target", "actual", "attain", "status",
            ],
            right: &[3, 4, 5],
        }
        .render(m.goals.iter().map(|g| {
            let status: &'static str = g.status.into();
            vec![
                g.goal_id.to_string(),
                g.kind.as_str().to_owned(),
                g.metric.as_str().to_owned(),
                g.target.to_string(),
                g.actual.to_string(),
                num(Some(g.attainment)),
                status.to_owned(),
            ]
        })),
    );
    let _ = writeln!(out, "  coverage: {}", coverage(&m.coverage));
}

fn flags(out: &mut String, m: &Flags) {
    open_flags(out, &m.open);
    let _ = writeln!(out, "\nhistory ({} changes):", m.history_total);
    out.push_str(
        &Columns {
            header: &["at", "rule", "subject", "change"],
            right: &[],
        }
        .render(m.history.iter().map(|c| {
            let change = match &c.now {
                Some(now) => {
                    let severity: &'static str = now.severity.into();
                    format!("{severity} {}: {}", now.flag, now.reason)
                }
                None => "cleared".into(),
            };
            let rule: &'static str = c.rule_id.into();
            vec![
                second(c.at),
                rule.to_owned(),
                c.subject.clone().unwrap_or_default(),
                change,
            ]
        })),
    );
}
