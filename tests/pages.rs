//! Long answers come a page at a time: a partnership's history (`limit` commits after a
//! revision), the partnership list, and the lists of a read model that grow with a history
//! (`limit` entries `after` others), each with `next` and a `Link: <...>; rel="next"` header; the
//! CLI follows the pages.

use reqwest::StatusCode;
use reqwest::header::LINK;
use serde_json::Value;

use crate::app::{
    Accord, accord, accord_dev, assert_problem, http, load_examples, meeting, post, proposal,
};

/// GETs `url`: the status, the `Link` header and the body.
async fn page(url: &str) -> (StatusCode, Option<String>, Value) {
    let response = http().get(url).send().await.expect("an answer");
    let status = response.status();
    let link = response
        .headers()
        .get(LINK)
        .map(|v| v.to_str().expect("ascii").to_owned());
    (status, link, response.json().await.expect("json"))
}

/// The URL a `Link: <path>; rel="next"` header points to, on `a`.
fn next_url(a: &Accord, link: &str) -> String {
    let path = link
        .strip_prefix('<')
        .and_then(|l| l.split_once(">; rel=\"next\""))
        .map(|(path, _)| path)
        .unwrap_or_else(|| panic!("a next link: {link}"));
    format!("{}{path}", a.url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_comes_in_pages_of_commits() {
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::embedded(dir.path());
    let p = "acme-stmary";
    assert_eq!(post(&a, p, &proposal(), &[]).await.0, StatusCode::CREATED);
    for i in 1..=6 {
        let (status, body) = post(&a, p, &meeting(&format!("m{i}")), &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, link, whole) = page(&a.events_url(p)).await;
    assert_eq!(whole["next"], Value::Null, "one page by default");
    assert!(link.is_none());
    let all = whole["events"].as_array().expect("events").clone();
    assert_eq!(all.len(), 7);

    // Pages of 3 commits, followed by their links: the same events, in order, once each.
    let mut url = format!("{}?limit=3", a.events_url(p));
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, link, body) = page(&url).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        let events = body["events"].as_array().expect("events");
        assert!(events.len() <= 3, "{body}");
        seen.extend(events.iter().cloned());
        match link {
            Some(link) => {
                assert_eq!(body["next"], seen.last().expect("an event")["revision"]);
                url = next_url(&a, &link);
            }
            None => {
                assert_eq!(body["next"], Value::Null, "{body}");
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, all);

    // A page stops at as_of, and then no page follows.
    let as_of = all[2]["recorded_at"].as_str().expect("a time");
    let (_, link, body) = page(&format!(
        "{}?limit=2&as_of={}",
        a.events_url(p),
        as_of.replace('+', "%2B")
    ))
    .await;
    let (_, _, recorded) = page(&format!(
        "{}?as_of={}",
        a.events_url(p),
        as_of.replace('+', "%2B")
    ))
    .await;
    let by_then = recorded["events"].as_array().expect("events").len();
    assert_eq!(
        body["events"].as_array().map(Vec::len),
        Some(by_then.min(2))
    );
    assert_eq!(link.is_some(), by_then > 2, "{body}");

    // Past the head: an empty page and no next.
    let (status, link, body) = page(&format!("{}?after=99", a.events_url(p))).await;
    assert_eq!((status, link), (StatusCode::OK, None));
    assert_eq!(body["events"], Value::Array(vec![]));

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("limit=many", "limit"),
        ("after=-1", "after"),
        ("after=last", "after"),
    ] {
        let (status, _, body) = page(&format!("{}?{query}", a.events_url(p))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_problem(&body, StatusCode::BAD_REQUEST);
        assert_eq!(body["details"][0]["field"], field, "{query}: {body}");
    }
    let (status, _, body) = page(&a.events_url("nobody-here")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // The list links its next page too.
    assert_eq!(
        post(&a, "acme-other", &proposal(), &[]).await.0,
        StatusCode::CREATED
    );
    let (_, link, body) = page(&format!("{}/v1/partnerships?limit=1", a.url)).await;
    let link = link.unwrap_or_else(|| panic!("a link: {body}"));
    let (_, _, second) = page(&next_url(&a, &link)).await;
    assert_eq!(
        second["partnerships"][0]["partnership_id"], "acme-stmary",
        "{second}"
    );
    a.stop();
}

/// The CLI reads a history longer than a page whole: `history` and the events export follow
/// the pages, and the export's hash chain runs across them.
#[test]
fn the_cli_follows_the_pages() {
    let dir = tempfile::tempdir().expect("dir");
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    // More than a page (1000 commits by default).
    let commits = 1150;
    let (code, _, err) = accord_dev(&[
        "gen",
        "--partnerships",
        "1",
        "--events",
        &commits.to_string(),
        "--out",
        &path("long.jsonl"),
    ]);
    assert_eq!(code, 0, "{err}");
    let a = Accord::embedded(&dir.path().join("store"));
    let (code, out, err) = accord(&["import", &path("long.jsonl"), "--server", &a.url]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = accord(&["history", "syn-000000", "--json", "--server", &a.url]);
    assert_eq!(code, 0, "{err}");
    let history: Value = serde_json::from_str(&out).expect("json");
    let events = history["events"].as_array().expect("events");
    assert_eq!(events.len(), commits, "every page, once");
    let revisions: Vec<u64> = events
        .iter()
        .filter_map(|e| e["revision"].as_u64())
        .collect();
    assert!(
        revisions.windows(2).all(|w| w[0] < w[1]),
        "in order, no repeat"
    );

    let (code, out, err) = accord(&[
        "export",
        "--model",
        "events",
        "--format",
        "jsonl",
        "--out",
        &path("events.jsonl"),
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let rows: Vec<Value> = std::fs::read_to_string(path("events.jsonl"))
        .expect("the export")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a row"))
        .collect();
    assert_eq!(rows.len(), commits);
    for pair in rows.windows(2) {
        assert_eq!(
            pair[1]["prev_hash"], pair[0]["hash"],
            "the chain runs across pages"
        );
    }
    a.stop();
}

/// A read model's growing lists page by `limit` entries `after` others; the pages followed by
/// their links give the whole list, once, in order, and the totals stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_models_lists_come_in_pages() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("store");
    load_examples(&store);
    let a = Accord::embedded(&store);
    let url = |model: &str, query: &str| {
        format!(
            "{}/v1/partnerships/medai-lakeside/{model}?valid_at=2025-11-17T10:00:00Z{query}",
            a.url
        )
    };
    let (_, link, whole) = page(&url("flags", "")).await;
    assert!(link.is_none(), "whole by default: {whole}");
    assert!(
        whole.get("next").is_none(),
        "a whole answer is the model: {whole}"
    );
    let history = whole["history"].as_array().expect("history").clone();
    assert!(history.len() > 4, "a history to page: {}", history.len());
    assert_eq!(whole["history_total"], history.len());

    let mut next = url("flags", "&limit=3");
    let mut seen = Vec::new();
    loop {
        let (status, link, body) = page(&next).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["history_total"], history.len(), "the total stays");
        let entries = body["history"].as_array().expect("history");
        assert!(entries.len() <= 3);
        seen.extend(entries.iter().cloned());
        match link {
            Some(link) => {
                assert_eq!(body["next"], seen.len(), "{body}");
                next = next_url(&a, &link);
            }
            None => break,
        }
    }
    assert_eq!(seen, history, "every change once, in order");

    // Trust: a page of each org's points.
    let (_, _, trust) = page(&url("trust", "&limit=1&after=1")).await;
    for org in trust["orgs"].as_array().expect("orgs") {
        let total = org["points_total"].as_u64().expect("a total");
        let shown = org["points"].as_array().expect("points").len() as u64;
        assert_eq!(shown, total.saturating_sub(1).min(1), "{org}");
    }
    for (query, field) in [
        ("&limit=0", "limit"),
        ("&after=-2", "after"),
        ("&limit=x", "limit"),
    ] {
        let (status, _, body) = page(&url("flags", query)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["details"][0]["field"], field, "{query}: {body}");
    }
    a.stop();
}
