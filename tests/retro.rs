//! The retrospective report end to end: `accord retro` writes the page the server serves, the
//! same bytes for the same inputs, with nothing fetched from anywhere. Headless Chromium
//! (Debian's, driven by Playwright from Python) renders it without a console error. The page and
//! its screenshot show what they must: a chart in each section, drawn in the charts' colours, and
//! every open red flag listed and put up for discussion. It prints to PDF. Bad arguments exit 2
//! and leave no file.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::analytics::python;
use crate::app::{Accord, accord, get_json, http, import_examples};
use crate::harness::workspace_root;

const AS_OF: &str = "2030-01-01T00:00:00Z";
/// The partnerships of `examples/`.
const SAMPLES: [&str; 5] = [
    "acme-stmary-rpm",
    "jointworks-riverside",
    "frontdoor-metro-carefirst",
    "medai-lakeside",
    "tinyrx-megahealth",
];

async fn get_text(url: &str) -> (u16, String) {
    let resp = http().get(url).send().await.expect("send");
    (resp.status().as_u16(), resp.text().await.expect("text"))
}

/// Renders pages in headless Chromium; gives what it saw of each (see
/// tests/python/render_retro.py), once checked that it logged no error, fetched nothing, laid
/// each page out within the window and printed it.
fn in_chromium(dir: &Path, pages: &[&Path]) -> Vec<Value> {
    let output = Command::new(python())
        .arg(workspace_root().join("tests/python/render_retro.py"))
        .arg(dir)
        .args(pages)
        .output()
        .expect("run the browser");
    assert!(
        output.status.success(),
        "the browser renders {pages:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).expect("JSON from the browser");
    pages
        .iter()
        .map(|page| {
            let r = seen[page.to_str().expect("utf-8")].clone();
            let p = page.display();
            assert_eq!(r["console_errors"], json!([]), "{p}");
            assert_eq!(r["page_errors"], json!([]), "{p}");
            assert_eq!(r["requests"], json!([]), "{p}: fetches nothing");
            assert!(
                r["pdf_pages"].as_u64() >= Some(2),
                "{p}: prints: {}",
                r["pdf_pages"]
            );
            assert_eq!(
                r["shown"]["fits"], true,
                "{p}: nothing wider than the window"
            );
            r
        })
        .collect()
}

/// `accord demo` writes a report per sample partnership; each renders, with its trust chart and
/// its red-flag timeline drawn and something to discuss.
#[test]
fn every_report_of_the_demo_renders() {
    let dir = tempfile::tempdir().expect("dir");
    let reports = dir.path().join("reports");
    let (code, out, err) = accord(&["demo", "--reports", reports.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}{err}");
    let pages: Vec<PathBuf> = SAMPLES
        .iter()
        .map(|p| reports.join(format!("{p}.html")))
        .collect();
    for page in &pages {
        assert!(
            out.contains(&page.display().to_string()),
            "{} printed",
            page.display()
        );
    }
    let pages: Vec<&Path> = pages.iter().map(PathBuf::as_path).collect();
    for (p, r) in SAMPLES.iter().zip(in_chromium(dir.path(), &pages)) {
        let shown = &r["shown"];
        assert_eq!(shown["sections"]["trust"], 1, "{p}: {shown}");
        assert_eq!(shown["sections"]["flags"], 1, "{p}: {shown}");
        assert!(
            shown["sections"]["throughput"].as_u64() >= Some(1),
            "{p}: {shown}"
        );
        assert!(
            !shown["discuss"].as_array().expect("discuss").is_empty(),
            "{p}"
        );
        assert!(
            r["screenshot"]["charts"]["flags"]["warn"].as_u64() > Some(100),
            "{p}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retro_page_renders_in_chromium_and_shows_the_story() {
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::up(&[]);
    import_examples(
        &a,
        &[
            "acme-stmary-unwilling-partner.jsonl",
            "jointworks-riverside-bundled-coe.jsonl",
        ],
    );

    for p in ["acme-stmary-rpm", "jointworks-riverside"] {
        let out = dir.path().join(format!("{p}.html"));
        let (code, stdout, err) = accord(&[
            "retro",
            p,
            "--as-of",
            AS_OF,
            "--out",
            out.to_str().expect("utf-8"),
            "--server",
            &a.url,
        ]);
        assert_eq!(code, 0, "{stdout}{err}");
        let page = std::fs::read_to_string(&out).expect("the page");

        // The same page as the server's, byte for byte, every time.
        let url = format!("{}/v1/partnerships/{p}/retro?as_of={AS_OF}", a.url);
        let (status, served) = get_text(&url).await;
        assert_eq!(status, 200);
        assert_eq!(served, page);
        assert_eq!(get_text(&url).await.1, page, "deterministic");

        // Self-contained: no script, no stylesheet or font to fetch, no address but SVG's
        // namespace.
        for banned in ["<script", "<link", "@import", "url(", "<img", "<iframe"] {
            assert!(!page.contains(banned), "{p}: {banned}");
        }
        let addresses = page.matches("http://").count() + page.matches("https://").count();
        assert_eq!(
            addresses,
            page.matches("http://www.w3.org/2000/svg").count(),
            "{p}: only the SVG namespace"
        );

        // Headless Chromium renders it with no error, fetches nothing, and prints it.
        let rendered = in_chromium(dir.path(), &[&out]);
        let r = &rendered[0];
        let shown = &r["shown"];
        for section in ["trust", "throughput", "asymmetry", "goals", "flags"] {
            assert!(
                shown["sections"][section].as_u64() >= Some(1),
                "{p}: a chart in #{section}: {}",
                shown["sections"]
            );
        }
        assert!(shown["chart_elements"].as_u64() >= Some(20), "{p}: {shown}");

        // The screenshot shows the charts: each org's trust line in its colour, the flags'
        // bars in theirs.
        let charts = &r["screenshot"]["charts"];
        for colour in ["series0", "series1"] {
            assert!(
                charts["trust"][colour].as_u64() > Some(100),
                "{p}: trust lines in {colour}: {charts}"
            );
        }
        assert!(
            charts["flags"]["warn"].as_u64() > Some(100),
            "{p}: {charts}"
        );
        assert!(
            r["screenshot"]["height"].as_u64() > Some(2000),
            "{p}: the whole page"
        );

        // Every open flag is listed and put up for discussion; a critical one shows in red.
        let flags = get_json(&a, &format!("/v1/partnerships/{p}/flags?as_of={AS_OF}")).await;
        let open = flags["open"].as_array().expect("open flags");
        assert!(!open.is_empty(), "{p} has open flags");
        let listed: Vec<&str> = shown["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let discussed = shown["discuss"].as_array().expect("discuss");
        assert_eq!(discussed.len(), open.len(), "{p}: one item per open flag");
        for f in open {
            let name = f["flag"].as_str().expect("name");
            let rule = f["rule_id"].as_str().expect("rule");
            assert!(
                listed
                    .iter()
                    .any(|l| l.starts_with(&format!("{rule} {name}")) && l.contains("open")),
                "{p}: {rule} {name} listed as open in {listed:?}"
            );
            let reason = f["reason"].as_str().expect("reason");
            assert!(
                discussed
                    .iter()
                    .any(|d| d.as_str().is_some_and(|d| d.contains(reason))),
                "{p}: {reason} up for discussion"
            );
            if f["severity"] == "critical" {
                assert!(
                    charts["flags"]["critical"].as_u64() > Some(100),
                    "{p}: {charts}"
                );
            }
        }
    }

    // A window shows its quarters only.
    let narrow = dir.path().join("narrow.html");
    let (code, out, err) = accord(&[
        "retro",
        "acme-stmary-rpm",
        "--from",
        "2025-04-01",
        "--to",
        "2025-09-30",
        "--as-of",
        AS_OF,
        "--out",
        narrow.to_str().expect("utf-8"),
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let page = std::fs::read_to_string(&narrow).expect("the page");
    assert!(page.contains("from 2025-04-01 to 2025-09-30"));
    for (quarter, shown) in [
        ("2025-Q1", false),
        ("2025-Q2", true),
        ("2025-Q3", true),
        ("2025-Q4", false),
    ] {
        assert_eq!(
            page.contains(&format!("<h3>{quarter}</h3>")),
            shown,
            "{quarter}"
        );
    }

    // Bad arguments: a clear message, exit 2, no file.
    let bad = dir.path().join("bad.html");
    for (args, says) in [
        (
            vec![
                "acme-stmary-rpm",
                "--from",
                "2026-01-01",
                "--to",
                "2025-01-01",
            ],
            "from",
        ),
        (vec!["acme-stmary-rpm", "--from", "yesterday"], "from"),
        (vec!["acme-stmary-rpm", "--as-of", "soon"], "as_of"),
        (vec!["nobody-here"], "nobody-here"),
        (vec!["Not A Slug"], "partnership"),
    ] {
        let mut all = vec![
            "retro",
            "--out",
            bad.to_str().expect("utf-8"),
            "--server",
            &a.url,
        ];
        all.extend(args);
        let (code, out, err) = accord(&all);
        assert_eq!(code, 2, "{all:?}: {out}{err}");
        assert!(err.contains(says), "{all:?} says {says}: {err}");
        assert!(!bad.exists(), "{all:?} leaves no file");
    }
    a.stop();
}
