//! A table of attacks on the ledger, each with the refusal it must get, tried through every door
//! it applies to (HTTP on both backends, the NATS service on JetStream), each followed by a
//! check that the ledger is unchanged.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{Accord, error_code, get_json, history, http, meeting, new_token, post, proposal};
use crate::harness::{NatsServer, ServerVersion};

/// The partnership every attack aims at: acme and stmary, with meeting m1 requested by acme
/// under the idempotency key `k-1`.
const P: &str = "acme-stmary";

/// One attack: what is sent, and the refusal it must get.
struct Attack {
    name: &'static str,
    /// The body of the append (the events).
    body: Value,
    headers: &'static [(&'static str, &'static str)],
    status: u16,
    /// The `error` of the answer.
    error: &'static str,
    /// The field the refusal names.
    field: &'static str,
}

fn event(kind: &str, org: &str, data: Value) -> Value {
    json!({"type": kind, "occurred_at": "2026-02-01T09:00:00Z", "actor": {"org": org},
           "data": data})
}

fn indicator(value: &str) -> Value {
    event(
        "indicator_recorded",
        "acme",
        json!({"metric": "leads", "value": value, "org": "acme",
               "period": {"start": "2026-01-01", "end": "2026-03-31"}}),
    )
}

/// The attacks on the partnership of [`given`]; `acme_event` is the id of an event acme recorded.
fn attacks(acme_event: &str) -> Vec<Attack> {
    let validation = |name, body, field| Attack {
        name,
        body,
        headers: &[],
        status: 422,
        error: "validation",
        field,
    };
    let mut ancient = meeting("m2");
    ancient["occurred_at"] = json!("0001-01-01T00:00:00Z");
    let mut control = meeting("m2");
    control["actor"]["person"] = json!("Sam\u{1b}[2J");
    let mut bidi = meeting("m2");
    bidi["data"]["purpose"] = json!("invoice \u{202E}fdp.exe");
    let versioned = |version: u64| {
        let mut e = meeting("m2");
        e["schema_version"] = json!(version);
        e
    };
    let as_partner = |kind: &str, data: Value| event(kind, "acme", data);
    vec![
        validation(
            "acme agrees to a goal for stmary",
            as_partner("goal_agreed", json!({"goal_id": "g1", "by_org": "stmary"})),
            "events[0].data.by_org",
        ),
        validation(
            "acme signs the business plan for stmary",
            as_partner(
                "business_plan_agreed",
                json!({"plan_id": "p1", "version": 1, "goal_ids": [],
                       "by_org": "stmary"}),
            ),
            "events[0].data.by_org",
        ),
        validation(
            "acme answers stmary's health check",
            as_partner(
                "health_check_responded",
                json!({"wave_id": "w1", "respondent_org": "stmary",
                       "dimension": "strategy", "score": 1}),
            ),
            "events[0].data.respondent_org",
        ),
        validation(
            "acme reports stmary's revenue",
            as_partner(
                "revenue_reported",
                json!({"org": "stmary", "total": "100", "by_partner": [],
                       "period": {"start": "2026-01-01", "end": "2026-03-31"}}),
            ),
            "events[0].data.org",
        ),
        validation(
            "stmary retracts acme's meeting request",
            event(
                "event_retracted",
                "stmary",
                json!({"target_event_id": acme_event, "reason": "never happened"}),
            ),
            "events[0].data.target_event_id",
        ),
        validation(
            "an amount past the decimal range poisons every fold",
            indicator("79228162514264337593543950335"),
            "events[0].data.value",
        ),
        validation(
            "a target of 10^-28 overflows attainment",
            event(
                "goal_proposed",
                "acme",
                json!({"goal_id": "g2", "kind": "sales", "metric": "leads",
                       "target": "0.0000000000000000000000000001", "by_org": "acme",
                       "period": {"start": "2026-01-01", "end": "2026-12-31"}}),
            ),
            "events[0].data.target",
        ),
        validation(
            "a business time in year 1 makes the weekly models span millennia",
            ancient,
            "events[0].occurred_at",
        ),
        validation(
            "a control character in a name rewrites a terminal",
            control,
            "events[0].actor.person",
        ),
        validation(
            "a bidi override shows another text than the one stored",
            bidi,
            "events[0].data.purpose",
        ),
        validation(
            "an event of a newer schema version than the ledger knows is stored as if current",
            versioned(u64::from(accord_domain::SCHEMA_VERSION) + 1),
            "events[0].schema_version",
        ),
        validation(
            "an event of an older schema version is recorded anew",
            versioned(1),
            "events[0].schema_version",
        ),
        validation(
            "version 1's consent of several orgs sent to a version 2 ledger",
            as_partner(
                "goal_agreed",
                json!({"goal_id": "g1", "agreed_by_orgs": ["acme", "stmary"]}),
            ),
            "events[0].data.agreed_by_orgs",
        ),
        Attack {
            name: "the same idempotency key with another body is silently not recorded",
            body: meeting("m2"),
            headers: &[("Idempotency-Key", "k-1")],
            status: 422,
            error: "idempotency_key_reused",
            field: "Idempotency-Key",
        },
    ]
}

/// The partnership the attacks aim at, with acme's goal g1; gives the id of acme's meeting
/// request.
async fn given(a: &Accord) -> String {
    let (status, answer) = post(a, P, &proposal(), &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, answer) = post(a, P, &meeting("m1"), &[("Idempotency-Key", "k-1")]).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let meeting_event = answer["event_ids"][0]
        .as_str()
        .expect("an event id")
        .to_owned();
    let goal = event(
        "goal_proposed",
        "acme",
        json!({"goal_id": "g1", "kind": "sales", "metric": "leads", "target": "10",
               "by_org": "acme", "period": {"start": "2026-01-01", "end": "2026-12-31"}}),
    );
    let (status, answer) = post(a, P, &goal, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    meeting_event
}

#[track_caller]
fn refused(attack: &Attack, door: &str, status: u16, answer: &Value) {
    let what = format!("{} ({door})", attack.name);
    assert_eq!(status, attack.status, "{what}: {answer}");
    assert_eq!(answer["error"], attack.error, "{what}: {answer}");
    assert_eq!(
        answer["details"][0]["field"], attack.field,
        "{what}: {answer}"
    );
}

/// Every attack over HTTP, each leaving the history as it was.
async fn over_http(a: &Accord) -> String {
    let acme_event = given(a).await;
    let before = history(a, P).await;
    for attack in attacks(&acme_event) {
        let (status, answer) = post(a, P, &attack.body, attack.headers).await;
        refused(&attack, "HTTP", status.as_u16(), &answer);
        assert_eq!(history(a, P).await, before, "{}: unchanged", attack.name);
    }
    acme_event
}

/// Every attack through `accord.ledger.append`, each leaving the history as it was.
async fn over_nats(a: &Accord, server: &NatsServer, acme_event: &str) {
    let client = async_nats::connect(server.url()).await.expect("connect");
    let before = history(a, P).await;
    for attack in attacks(acme_event) {
        let mut headers = async_nats::HeaderMap::new();
        for (k, v) in attack.headers {
            headers.insert(*k, *v);
        }
        let body = json!({"partnership_id": P, "events": [attack.body]});
        let reply = client
            .request_with_headers("accord.ledger.append", headers, body.to_string().into())
            .await
            .expect("a reply");
        let status = error_code(&reply)
            .and_then(|c| c.parse().ok())
            .unwrap_or(200);
        let answer: Value = serde_json::from_slice(&reply.payload).expect("json");
        refused(&attack, "NATS", status, &answer);
        assert_eq!(history(a, P).await, before, "{}: unchanged", attack.name);
    }
}

/// A key is scoped to the acting org: stmary's `k-1` is simply another key, recorded once.
async fn keys_are_scoped_to_the_org(a: &Accord) {
    let stmary = event("follow_up_proposed", "stmary", json!({"by_org": "stmary"}));
    let (status, first) = post(a, P, &stmary, &[("Idempotency-Key", "k-1")]).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = post(a, P, &stmary, &[("Idempotency-Key", "k-1")]).await;
    assert_eq!((status, &again), (StatusCode::CREATED, &first), "a retry");
    let events = history(a, P).await["events"].clone();
    let types: Vec<&str> = events
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "partnership_proposed",
            "meeting_requested",
            "goal_proposed",
            "follow_up_proposed"
        ]
    );
}

/// Queries refuse an `as_of` outside the range the ledger records.
async fn queries_are_bounded(a: &Accord) {
    for model in ["events", "summary", "throughput", "retro"] {
        let answer = get_json(
            a,
            &format!("/v1/partnerships/{P}/{model}?as_of=9999-12-31T00:00:00Z"),
        )
        .await;
        assert_eq!(answer["error"], "bad_request", "{model}: {answer}");
        assert_eq!(answer["details"][0]["field"], "as_of", "{model}: {answer}");
    }
}

/// A name a spreadsheet would run as a formula is exported as text: CSV cells starting with
/// `= + - @` get a leading `'`.
async fn csv_cells_are_not_formulas(a: &Accord) {
    let mut formula = meeting("m3");
    formula["actor"]["person"] = json!("=HYPERLINK(\"http://evil\",\"x\")");
    formula["note"] = json!("-2+3");
    let (status, answer) = post(a, P, &formula, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("events.csv");
    let (code, stdout, err) = crate::app::accord(&[
        "export",
        "--model",
        "events",
        "--format",
        "csv",
        "--out",
        out.to_str().expect("utf-8"),
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 0, "{stdout}{err}");
    let mut rows = csv::Reader::from_path(&out).expect("csv");
    let headers = rows.headers().expect("headers").clone();
    let column = |name| headers.iter().position(|h| h == name).expect(name);
    let (person, note) = (column("actor_person"), column("note"));
    let last = rows.records().last().expect("a row").expect("a record");
    assert_eq!(&last[person], "'=HYPERLINK(\"http://evil\",\"x\")");
    assert_eq!(&last[note], "'-2+3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attacks_on_the_embedded_backend() {
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::embedded(dir.path());
    over_http(&a).await;
    keys_are_scoped_to_the_org(&a).await;
    queries_are_bounded(&a).await;
    csv_cells_are_not_formulas(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attacks_on_jetstream() {
    let server = NatsServer::start(ServerVersion::Current).expect("server");
    let a = Accord::jetstream(&server);
    let acme_event = over_http(&a).await;
    over_nats(&a, &server, &acme_event).await;
    keys_are_scoped_to_the_org(&a).await;
    queries_are_bounded(&a).await;
}

/// A request through a NATS door with a bearer token (or none); gives the status (200 for a
/// success) and the answer.
pub(crate) async fn nats_request(
    client: &async_nats::Client,
    subject: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut headers = async_nats::HeaderMap::new();
    if let Some(t) = token {
        headers.insert("Authorization", format!("Bearer {t}").as_str());
    }
    let reply = client
        .request_with_headers(subject.to_owned(), headers, body.to_string().into())
        .await
        .expect("a reply");
    let status = error_code(&reply)
        .and_then(|c| c.parse().ok())
        .unwrap_or(200);
    (
        status,
        serde_json::from_slice(&reply.payload).expect("json"),
    )
}

/// With a token file, the NATS doors check the caller exactly as HTTP does: no token is 401,
/// another org's partnership is 404, acting as another org is 403. `/healthz` tells only its
/// status to anyone but an auditor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_door_checks_the_caller() {
    let server = NatsServer::start(ServerVersion::Current).expect("server");
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tokens.json");
    let acme = new_token(&file, "acme", "writer", "acme-crm");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&file)
            .expect("the token file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "only its owner reads the token file");
    let globex = new_token(&file, "globex", "writer", "globex-crm");
    let audit = new_token(&file, "auditor", "auditor", "audit");
    let a = Accord::up(&[
        "--nats",
        &server.url(),
        "--tokens",
        file.to_str().expect("utf-8"),
    ]);
    let client = async_nats::connect(server.url()).await.expect("connect");
    let append = "accord.ledger.append";
    let commit = |event: Value| json!({"partnership_id": P, "events": [event]});

    let (status, answer) = nats_request(&client, append, None, &commit(proposal())).await;
    assert_eq!((status, &answer["error"]), (401, &json!("unauthorized")));
    let (status, answer) = nats_request(&client, append, Some(&acme), &commit(proposal())).await;
    assert_eq!(status, 200, "{answer}");
    let before = nats_request(&client, append, Some(&audit), &commit(meeting("m9"))).await;
    assert_eq!(before.0, 403, "an auditor writes nothing: {}", before.1);

    let mut as_stmary = meeting("m1");
    as_stmary["actor"]["org"] = json!("stmary");
    as_stmary["data"]["requested_by_org"] = json!("stmary");
    let (status, answer) = nats_request(&client, append, Some(&acme), &commit(as_stmary)).await;
    assert_eq!(status, 403, "acme records as stmary: {answer}");
    let mut by_globex = meeting("m1");
    by_globex["actor"]["org"] = json!("globex");
    let (status, answer) = nats_request(&client, append, Some(&globex), &commit(by_globex)).await;
    assert_eq!(
        status, 404,
        "globex writes to another org's partnership: {answer}"
    );

    let query = json!({"partnership_id": P});
    let summary = "accord.query.summary";
    let (status, _) = nats_request(&client, summary, None, &query).await;
    assert_eq!(status, 401);
    let (status, answer) = nats_request(&client, summary, Some(&globex), &query).await;
    assert_eq!(
        status, 404,
        "another org's partnership reads as unknown: {answer}"
    );
    let (status, answer) = nats_request(&client, summary, Some(&audit), &query).await;
    assert_eq!(status, 200, "{answer}");

    let events = http()
        .get(a.events_url(P))
        .bearer_auth(&audit)
        .send()
        .await
        .expect("history")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(
        events["events"].as_array().map(Vec::len),
        Some(1),
        "only acme's proposal landed"
    );

    let health = |token: Option<String>| {
        let url = format!("{}/healthz", a.url);
        async move {
            let mut req = http().get(url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req.send()
                .await
                .expect("healthz")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    assert_eq!(health(None).await, json!({"status": "ok"}));
    assert_eq!(health(Some(acme.clone())).await, json!({"status": "ok"}));
    let detailed = health(Some(audit.clone())).await;
    assert_eq!(detailed["backend"], "jetstream", "{detailed}");
    assert!(detailed["projector"].is_object(), "{detailed}");
}

/// Without a token file the NATS doors would be open to every login of the server: `accord`
/// serves them on a loopback server only, as it binds HTTP on loopback only.
#[test]
fn open_nats_doors_need_a_loopback_server() {
    let (code, _, err) = crate::app::accord(&["up", "--nats", "nats://10.255.255.1:4222"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("without a token file (--tokens) they are open"),
        "{err}"
    );
}

/// A client that opens a connection and sends nothing, or only part of its headers
/// (slowloris), is cut off by the server instead of holding the connection for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::embedded(dir.path());
    let addr = a.url.trim_start_matches("http://").to_owned();
    let silent = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let mut slow = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("part of the headers");
    // Far longer than the server's first-request and header-read timeouts.
    let bound = std::time::Duration::from_secs(60);
    for (what, mut stream) in [("silent", silent), ("slow", slow)] {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(bound, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("the {what} connection is still open after {bound:?}"));
        // Closed (EOF or reset), with at most an error answer.
        if let Ok(n) = read
            && n > 0
        {
            let answer = String::from_utf8_lossy(&buf[..n]);
            assert!(!answer.starts_with("HTTP/1.1 200"), "{what}: {answer}");
        }
    }
}

/// `GET /v1/partnerships` comes in pages (`limit`, and `after` = the last page's `next`), and
/// one request looks at a bounded number of partnerships: a caller who may read few of many
/// gets short pages that lead on, never a walk over the whole ledger. `writer` records, `lister`
/// lists (the ledger itself, or a projector that follows it).
async fn the_list_comes_in_pages(writer: &Accord, lister: &Accord, acme: &str, globex: &str) {
    let ids: Vec<String> = (0..12).map(|i| format!("p{i:02}")).collect();
    for id in &ids {
        let mut proposal = proposal();
        if id == "p11" {
            proposal["actor"]["org"] = json!("globex");
            proposal["data"]["parties"][0]["org"] = json!("globex");
        }
        let token = if id == "p11" { globex } else { acme };
        let status = send(writer, id, token, &proposal).await;
        assert_eq!(status, StatusCode::CREATED, "{id}");
    }
    let page = |token: &str, query: &str| {
        let (url, token) = (
            format!("{}/v1/partnerships?{query}", lister.url),
            token.to_owned(),
        );
        async move {
            let resp = http()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("list");
            let status = resp.status();
            (status, resp.json::<Value>().await.expect("json"))
        }
    };
    let listed = |body: &Value| -> Vec<String> {
        body["partnerships"]
            .as_array()
            .expect("a page")
            .iter()
            .map(|p| p["partnership_id"].as_str().expect("an id").to_owned())
            .collect()
    };
    // A projector lists what it applied: wait until it has every proposal.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while listed(&page(globex, "limit=1000").await.1).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the lister knows every proposal"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // acme reads 11 of the 12, five at a time.
    let mut seen = Vec::new();
    let mut query = "limit=5".to_owned();
    loop {
        let (status, body) = page(acme, &query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(listed(&body).len() <= 5, "{body}");
        seen.extend(listed(&body));
        match body["next"].as_str() {
            Some(next) => query = format!("limit=5&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ids[..11]);
    // globex reads one, the last: with limit 1 a request looks at 10 partnerships at most, so
    // the first page is empty and leads on.
    let (_, first) = page(globex, "limit=1").await;
    assert_eq!(listed(&first), Vec::<String>::new(), "{first}");
    assert_eq!(first["next"], "p09", "{first}");
    let (_, second) = page(globex, "limit=1&after=p09").await;
    assert_eq!(listed(&second), ["p11"], "{second}");
    assert_eq!(second["next"], "p11", "a full page leads on: {second}");
    let (_, last) = page(globex, "limit=1&after=p11").await;
    assert_eq!(last, json!({"partnerships": [], "next": null}));
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("after=Not.An.Id", "after"),
    ] {
        let (status, body) = page(acme, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["details"][0]["field"], field, "{query}: {body}");
    }
}

/// POSTs one event with a token; gives the status.
async fn send(a: &Accord, p: &str, token: &str, event: &Value) -> StatusCode {
    http()
        .post(a.events_url(p))
        .bearer_auth(token)
        .body(event.to_string())
        .send()
        .await
        .expect("send")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_comes_in_pages_from_the_ledger_and_from_a_projector() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tokens.json");
    let acme = new_token(&file, "acme", "writer", "acme-crm");
    let globex = new_token(&file, "globex", "writer", "globex-crm");
    let tokens = file.to_str().expect("utf-8");
    // accord up: the ledger folds the page.
    let up = Accord::up(&["--tokens", tokens]);
    the_list_comes_in_pages(&up, &up, &acme, &globex).await;
    // accord projector: its stored overviews.
    let server = NatsServer::start(ServerVersion::Current).expect("server");
    let nats = ["--nats", &server.url(), "--tokens", tokens];
    let ledger = Accord::start("ledger", &nats);
    let projector = Accord::start("projector", &nats);
    the_list_comes_in_pages(&ledger, &projector, &acme, &globex).await;
}
