//! `accord show MODEL ID`: one read model as a readable table (or `--json`), and the same tables
//! for `accord demo`. Tables are drawn from the JSON the API answers, so the CLI shows exactly
//! what the API says.

use std::fmt::Write;
use std::process::ExitCode;

use accord_domain::models::Model;
use anyhow::Result;
use serde_json::Value;

use crate::client::{Server, get_json};

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
    /// Print the JSON answer instead of a table.
    #[arg(long)]
    json: bool,
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
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        print!("{}", render(args.model, &body));
    }
    Ok(ExitCode::SUCCESS)
}

/// A read model's answer as text.
pub(crate) fn render(model: Model, v: &Value) -> String {
    let mut out = String::new();
    let (as_of, valid_at) = (str_of(&v["as_of"]), str_of(&v["valid_at"]));
    let _ = write!(
        out,
        "{} {} as of {as_of}",
        str_of(&v["partnership_id"]),
        model.as_str(),
    );
    if valid_at != as_of {
        let _ = write!(out, ", valid at {valid_at}");
    }
    out.push('\n');
    match model {
        Model::Summary => summary(&mut out, v),
        Model::Trust => trust(&mut out, v),
        Model::Throughput => throughput(&mut out, v),
        Model::Asymmetry => asymmetry(&mut out, v),
        Model::Goals => goals(&mut out, v),
        Model::Flags => flags(&mut out, v),
    }
    out
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

/// A number with two decimals, or `-` when there is none.
fn num(v: &Value) -> String {
    v.as_f64().map_or_else(|| "-".into(), |x| format!("{x:.2}"))
}

/// A whole number, or `-` when there is none.
fn int(v: &Value) -> String {
    v.as_i64().map_or_else(|| "-".into(), |x| x.to_string())
}

fn yes_no(v: &Value) -> &'static str {
    if v.as_bool() == Some(true) {
        "yes"
    } else {
        "no"
    }
}

fn subject(f: &Value) -> String {
    f["subject"]
        .as_str()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default()
}

fn summary(out: &mut String, v: &Value) {
    let _ = writeln!(out, "  status     {}", str_of(&v["status"]));
    for t in items(&v["trust"]) {
        let _ = writeln!(
            out,
            "  trust      {:<14} {}  {}",
            str_of(&t["org"]),
            num(&t["score"]),
            str_of(&t["band"])
        );
    }
    for b in items(&v["balance"]) {
        let _ = writeln!(
            out,
            "  balance    {}/{}  index {}  lean {}",
            str_of(&b["a"]),
            str_of(&b["b"]),
            b["balance_index"]
                .as_f64()
                .map_or_else(|| "- (too few events)".into(), |x| format!("{x:.2}")),
            num(&b["lean"])
        );
    }
    let c = &v["goal_coverage"];
    let g = &v["goals"];
    let _ = writeln!(
        out,
        "  goals      coverage: qualitative {}, marketing {}, sales {}; {} achieved, {} on track, {} behind, {} missed, {} not agreed",
        yes_no(&c["qualitative"]),
        yes_no(&c["marketing"]),
        yes_no(&c["sales"]),
        int(&g["achieved"]),
        int(&g["on_track"]),
        int(&g["behind"]),
        int(&g["missed"]),
        g["not_agreed"]
    );
    open_flags(out, &v["open_flags"]);
}

fn open_flags(out: &mut String, flags: &Value) {
    let flags: Vec<&Value> = items(flags).collect();
    if flags.is_empty() {
        let _ = writeln!(out, "  red flags  none open");
    }
    for f in flags {
        let _ = writeln!(
            out,
            "  red flag   {:<8} {} {}{}: {}",
            str_of(&f["severity"]),
            str_of(&f["rule_id"]),
            str_of(&f["flag"]),
            subject(f),
            str_of(&f["reason"])
        );
    }
}

fn trust(out: &mut String, v: &Value) {
    for o in items(&v["orgs"]) {
        let _ = writeln!(
            out,
            "\n{}: score {} ({}), r {} s {}",
            str_of(&o["org"]),
            num(&o["score"]),
            str_of(&o["band"]),
            num(&o["r"]),
            num(&o["s"])
        );
        let _ = writeln!(
            out,
            "  {:<20}  {:<4}  {:>6}  {:>6}  {:>6}  event",
            "at", "rule", "before", "after", "delta"
        );
        for p in items(&o["points"]) {
            let _ = writeln!(
                out,
                "  {:<20}  {:<4}  {:>6}  {:>6}  {:>+6.2}  {}",
                str_of(&p["at"]).get(..19).unwrap_or("-"),
                str_of(&p["rule_id"]),
                num(&p["score_before"]),
                num(&p["score_after"]),
                p["delta"].as_f64().unwrap_or(0.0),
                str_of(&p["event_id"])
            );
        }
    }
}

fn throughput(out: &mut String, v: &Value) {
    for o in items(&v["owners"]) {
        let _ = writeln!(
            out,
            "\n{}: cycle time p50 {} d, p85 (SLE) {} d; on time {} (original due) {} (latest); {} slips, {} slip days; {} open",
            str_of(&o["owner_org"]),
            int(&o["cycle_time_p50"]),
            int(&o["cycle_time_p85"]),
            num(&o["on_time_original"]),
            num(&o["on_time_latest"]),
            int(&o["slips"]),
            int(&o["slip_days"]),
            items(&o["open_items"]).count()
        );
        let _ = writeln!(
            out,
            "  {:<8}  {:>10}  {:>4}  {:>4}  {:>5}  {:>5}",
            "quarter", "throughput", "wip", "due", "ppc", "focus"
        );
        for q in items(&o["quarters"]) {
            let _ = writeln!(
                out,
                "  {:<8}  {:>10}  {:>4}  {:>4}  {:>5}  {:>5}",
                str_of(&q["period"]),
                int(&q["throughput"]),
                int(&q["wip"]),
                int(&q["due"]),
                num(&q["ppc"]),
                int(&q["focus"])
            );
        }
    }
}

fn asymmetry(out: &mut String, v: &Value) {
    for p in items(&v["pairs"]) {
        let _ = writeln!(
            out,
            "\n{} with {}: lean {}, balance index {}",
            str_of(&p["a"]),
            str_of(&p["b"]),
            num(&p["lean"]),
            num(&p["balance_index"])
        );
        let _ = writeln!(
            out,
            "  {:<16}  {:>5}  {:>5}  {:>5}",
            "indicator", "count", "of", "share"
        );
        for s in items(&p["shares"]) {
            let _ = writeln!(
                out,
                "  {:<16}  {:>5}  {:>5}  {:>5}{}",
                str_of(&s["indicator"]),
                int(&s["count"]),
                int(&s["of"]),
                num(&s["share"]),
                if s["sufficient"].as_bool() == Some(true) {
                    ""
                } else {
                    "  (insufficient)"
                }
            );
        }
        let e = &p["economic"];
        let _ = writeln!(
            out,
            "  economic: D_A {}, D_B {}, DA {}, JD {}, DA/JD {}, HHI_A {}",
            num(&e["d_a"]),
            num(&e["d_b"]),
            num(&e["da"]),
            num(&e["jd"]),
            num(&e["da_over_jd"]),
            num(&e["hhi_a"])
        );
    }
}

fn goals(out: &mut String, v: &Value) {
    let _ = writeln!(
        out,
        "  {:<16}  {:<12}  {:<12}  {:>10}  {:>10}  {:>6}  status",
        "goal", "kind", "metric", "target", "actual", "attain"
    );
    for g in items(&v["goals"]) {
        let _ = writeln!(
            out,
            "  {:<16}  {:<12}  {:<12}  {:>10}  {:>10}  {:>6}  {}",
            str_of(&g["goal_id"]),
            str_of(&g["kind"]),
            str_of(&g["metric"]),
            str_of(&g["target"]),
            str_of(&g["actual"]),
            num(&g["attainment"]),
            str_of(&g["status"])
        );
    }
    let c = &v["coverage"];
    let _ = writeln!(
        out,
        "  coverage: qualitative {}, marketing {}, sales {}",
        yes_no(&c["qualitative"]),
        yes_no(&c["marketing"]),
        yes_no(&c["sales"])
    );
}

fn flags(out: &mut String, v: &Value) {
    open_flags(out, &v["open"]);
    let _ = writeln!(out, "\nhistory:");
    for c in items(&v["history"]) {
        let change = match c["now"].as_object() {
            Some(now) => format!(
                "{} {}: {}",
                now["severity"].as_str().unwrap_or("-"),
                now["flag"].as_str().unwrap_or("-"),
                now["reason"].as_str().unwrap_or("-")
            ),
            None => "cleared".into(),
        };
        let _ = writeln!(
            out,
            "  {:<20}  {:<4}{}  {change}",
            str_of(&c["at"]).get(..19).unwrap_or("-"),
            str_of(&c["rule_id"]),
            subject(c)
        );
    }
}
