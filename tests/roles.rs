//! The deployment's NATS users, from deploy/ as it is: nats-server runs deploy/nats-server.conf
//! (TLS for clients, deploy/accounts.conf), `accord ledger` and `accord projector` log in as
//! their roles, and each user can do its job and nothing else.

use std::path::Path;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::json;

use crate::app::{Accord, new_token, proposal};
use crate::harness::{NatsServer, ServerVersion, free_port, workspace_root};
use crate::security::nats_request;
use crate::tls::TestCa;

/// How long the projector and the feed may take to catch up with a commit.
const CATCH_UP: Duration = Duration::from_secs(30);
/// How long a denied JetStream request waits for the answer it never gets.
const DENIED: Duration = Duration::from_secs(2);

/// The environment deploy/nats.env and deploy/cluster/secrets.env describe, for a server on
/// this machine: random ports, `store`, the test CA's certificate, a password per user.
pub(crate) fn deploy_env(ca: &TestCa, store: &Path) -> Vec<(String, String)> {
    let addr = |port: u16| format!("127.0.0.1:{port}");
    let route = || {
        format!(
            "nats-route://route:{}@{}",
            password("route"),
            addr(free_port().expect("a port"))
        )
    };
    let text = |p: &Path| p.to_str().expect("utf-8").to_owned();
    [
        ("NATS_SERVER_NAME", "accord-roles".to_owned()),
        ("NATS_LISTEN", addr(free_port().expect("a port"))),
        ("NATS_MONITOR", addr(free_port().expect("a port"))),
        ("NATS_CLUSTER_LISTEN", addr(free_port().expect("a port"))),
        ("NATS_STORE_DIR", text(&store.join("js"))),
        ("NATS_TLS_CERT", text(&ca.cert)),
        ("NATS_TLS_KEY", text(&ca.key)),
        ("NATS_TLS_CA", text(&ca.ca)),
        ("NATS_ROUTE_1", route()),
        ("NATS_ROUTE_2", route()),
        ("NATS_ROUTE_3", route()),
        ("ROUTE_PASSWORD", password("route")),
        ("LEDGER_PASSWORD", password("ledger")),
        ("PROJECTOR_PASSWORD", password("projector")),
        ("CLIENT_PASSWORD", password("client")),
        ("ANALYTICS_PASSWORD", password("analytics")),
        ("ADMIN_PASSWORD", password("admin")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn password(user: &str) -> String {
    format!("{user}-test-password")
}

/// The URL a user logs in with, over TLS.
fn url(server: &NatsServer, user: &str) -> String {
    format!(
        "tls://{user}:{}@127.0.0.1:{}",
        password(user),
        server.url().rsplit(':').next().expect("a port")
    )
}

/// A client logged in as `user`, trusting the test CA.
async fn login(server: &NatsServer, ca: &TestCa, user: &str) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .user_and_password(user.to_owned(), password(user))
        .add_root_certificates(ca.ca.clone())
        .require_tls(true)
        .connect(url(server, user).trim_start_matches("tls://"))
        .await
        .unwrap_or_else(|e| panic!("{user} logs in: {e}"))
}

/// A JetStream context of `user` that gives up on a request after [`DENIED`].
async fn js(server: &NatsServer, ca: &TestCa, user: &str) -> jetstream::Context {
    let mut js = jetstream::new(login(server, ca, user).await);
    js.set_timeout(DENIED);
    js
}

/// The stream of the bucket of personal values.
const DISCLOSURES: &str = "KV_ACCORD_DISCLOSURES";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_nats_user_does_its_job_and_nothing_else() {
    let ca = TestCa::new();
    let store = tempfile::tempdir().expect("dir");
    let env = deploy_env(&ca, store.path());
    let server = NatsServer::start_config(
        &ServerVersion::Current.binary(),
        &workspace_root().join("deploy/nats-server.conf"),
        store,
        env,
    )
    .expect("nats-server from deploy/nats-server.conf");
    let dir = tempfile::tempdir().expect("dir");
    let tokens = dir.path().join("tokens.json");
    let acme = new_token(&tokens, "acme", "writer", "acme-crm");
    let service = |command: &str, user: &str| {
        Accord::start(
            command,
            &[
                "--nats",
                &url(&server, user),
                "--nats-ca",
                ca.ca.to_str().expect("utf-8"),
                "--tokens",
                tokens.to_str().expect("utf-8"),
            ],
        )
    };
    // The ledger provisions ACCORD_EVENTS; the projector follows it and keeps the feed.
    let _ledger = service("ledger", "ledger");
    let _projector = service("projector", "projector");

    // client: records and queries through the doors, with a token.
    let client = login(&server, &ca, "client").await;
    let commit = json!({"partnership_id": "acme-stmary", "events": [proposal()]});
    let (status, answer) =
        nats_request(&client, "accord.ledger.append", Some(&acme), &commit).await;
    assert_eq!(status, 200, "the client records: {answer}");
    let query = json!({"partnership_id": "acme-stmary"});
    let deadline = Instant::now() + CATCH_UP;
    loop {
        let (status, answer) =
            nats_request(&client, "accord.query.summary", Some(&acme), &query).await;
        if status == 200 {
            break;
        }
        assert!(
            status == 404 && Instant::now() < deadline,
            "the client queries once the projector caught up: {status} {answer}"
        );
        tokio::task::yield_now().await;
    }

    // analytics: reads the feed, and only the feed.
    let analytics = js(&server, &ca, "analytics").await;
    let feed = analytics
        .get_stream("ACCORD_ANALYTICS")
        .await
        .expect("the analytics reader sees the feed");
    let deadline = Instant::now() + CATCH_UP;
    while feed
        .get_last_raw_message_by_subject("accord.analytics.summary.acme-stmary")
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the feed publishes the summary");
        tokio::task::yield_now().await;
    }
    assert!(
        analytics.get_stream("ACCORD_EVENTS").await.is_err(),
        "the analytics reader cannot read ACCORD_EVENTS"
    );

    // What each user may not do, all tried at once (a denied request goes unanswered).
    let (ledger, projector, client_js) = (
        js(&server, &ca, "ledger").await,
        js(&server, &ca, "projector").await,
        js(&server, &ca, "client").await,
    );
    let forged_on = async |js: &jetstream::Context, subject: &'static str| match js
        .publish(subject, "forged".into())
        .await
    {
        Ok(ack) => ack.await.is_err(),
        Err(_) => true,
    };
    let forged = async |js: &jetstream::Context| forged_on(js, "accord.events.acme-stmary").await;
    let update = async |js: &jetstream::Context| {
        let config = jetstream::stream::Config {
            name: "ACCORD_EVENTS".to_owned(),
            subjects: vec!["accord.events.*".to_owned()],
            max_messages: 1,
            ..Default::default()
        };
        js.update_stream(config).await.is_err()
    };
    let (forged_by_projector, forged_by_client, forged_by_analytics) =
        tokio::join!(forged(&projector), forged(&client_js), forged(&analytics));
    assert!(forged_by_projector, "the projector cannot append events");
    assert!(forged_by_client, "a client cannot publish events");
    assert!(
        forged_by_analytics,
        "an analytics reader cannot publish events"
    );
    let delete = async |js: &jetstream::Context| js.delete_stream("ACCORD_EVENTS").await.is_err();
    let denied = tokio::join!(
        delete(&ledger),
        delete(&projector),
        delete(&client_js),
        delete(&analytics),
    );
    assert_eq!(
        denied,
        (true, true, true, true),
        "nobody but admin deletes the stream"
    );
    let purge = async |js: &jetstream::Context| match js.get_stream("ACCORD_EVENTS").await {
        Ok(stream) => stream.purge().await.is_err(),
        Err(_) => true,
    };
    let denied = tokio::join!(
        update(&ledger),
        update(&projector),
        purge(&ledger),
        purge(&projector)
    );
    assert_eq!(
        denied,
        (true, true, true, true),
        "nobody but admin updates or purges the stream"
    );

    // The personal values: the projector reads them; only the ledger stores or erases one.
    let erase = async |js: &jetstream::Context| match js.get_stream(DISCLOSURES).await {
        Ok(stream) => stream.delete_message(1).await.is_err(),
        Err(_) => true,
    };
    let value = "$KV.ACCORD_DISCLOSURES.forged";
    let denied = tokio::join!(
        erase(&projector),
        erase(&client_js),
        erase(&analytics),
        forged_on(&projector, value),
        forged_on(&client_js, value),
        forged_on(&analytics, value),
    );
    assert_eq!(
        denied,
        (true, true, true, true, true, true),
        "nobody but the ledger stores or erases a personal value"
    );
    assert!(
        projector.get_stream(DISCLOSURES).await.is_ok(),
        "the projector reads the personal values"
    );
    assert!(
        client_js.get_stream(DISCLOSURES).await.is_err()
            && analytics.get_stream(DISCLOSURES).await.is_err(),
        "neither a client nor an analytics reader reads the personal values"
    );

    // admin: everything; the stream holds the one commit, with its settings intact.
    let admin = js(&server, &ca, "admin").await;
    let mut events = admin
        .get_stream("ACCORD_EVENTS")
        .await
        .expect("admin reads");
    let info = events.info().await.expect("stream info");
    assert_eq!(info.state.messages, 1, "only the client's commit landed");
    assert!(info.config.deny_delete && info.config.deny_purge);
    assert_eq!(info.config.max_messages, -1, "the stream was not updated");
    let mut values = admin.get_stream(DISCLOSURES).await.expect("admin reads");
    let state = values.info().await.expect("bucket info").state.clone();
    assert!(
        state.messages >= 1 && state.first_sequence == 1,
        "the commit's personal values are all there: {state:?}"
    );
    admin
        .update_stream(info.config.clone())
        .await
        .expect("admin updates the stream");
}
