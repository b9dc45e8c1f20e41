//! The coverage scorecard over HTTP with two tenants on the real embedded
//! store: each key sees only its own services, ghosts and alerts; the
//! sign-in page sets a cookie that works like the key; the range selects
//! which alerts count and which rolled-up topology slots add their calls;
//! a bad range is a 400 naming the field.

use std::sync::Arc;

use causeway_assembler::{AssemblerConfig, ReadApiState, http_router};
use causeway_model::{CausalEvent, CeId, Kind, TraceId};
use causeway_runtime::clock::now_unix_ns;
use causeway_runtime::tenants::{Plan, TenantConfig, TenantRegistry, hash_api_key};
use causeway_store::{EdgeDelta, StoredArtifact, open_stores};

const KEY_A: &str = "scorecard-key-a-0123456789";
const KEY_B: &str = "scorecard-key-b-0123456789";
const SECOND: u64 = 1_000_000_000;

fn tenant(id: &str, key: &str) -> TenantConfig {
    TenantConfig {
        id: id.to_owned(),
        plan: Plan::Team,
        api_key_sha256: vec![hash_api_key(key)],
        monthly_ce_quota: None,
        retention_days: None,
        pre_arm_seconds: None,
        integrations: Default::default(),
    }
}

#[allow(clippy::too_many_arguments)] // one argument per event field keeps the table readable
fn event(
    tenant: &str,
    ce: u8,
    parent: Option<u8>,
    service: &str,
    kind: Kind,
    peer: Option<&str>,
    status: u16,
    start: u64,
) -> CausalEvent {
    CausalEvent {
        tenant_id: tenant.to_owned(),
        trace_id: TraceId([tenant.as_bytes()[0]; 16]),
        ce_id: CeId([ce; 16]),
        parent_ce_id: parent.map(|p| CeId([p; 16])),
        service: service.to_owned(),
        kind,
        status,
        start_unix_ns: start,
        duration_ns: 2_000_000,
        operation: None,
        peer: peer.map(str::to_owned),
        environment: None,
    }
}

fn artifact(tenant: &str, id: &str, label: &str, created: u64) -> StoredArtifact {
    let json = format!("{{\"completeness\":{{\"label\":\"{label}\"}}}}");
    StoredArtifact {
        artifact_id: id.to_owned(),
        tenant_id: tenant.to_owned(),
        alert_id: format!("alert-{id}"),
        service: "web".to_owned(),
        created_at_unix_ns: created,
        digest: format!("sha256:{id}"),
        share_token: format!("token_{tenant}_{id}_0123456789"),
        canonical_json: json.into_bytes(),
        expires_at_unix_ns: None,
    }
}

fn edge(caller: &str, peer: &str, calls: u64, answered: u64, errors: u64) -> EdgeDelta {
    EdgeDelta {
        caller: caller.to_owned(),
        peer: peer.to_owned(),
        calls,
        answered,
        errors,
    }
}

/// The calls cell of an edge row of the propagation table.
fn edge_calls(caller: &str, peer: &str, calls: u64) -> String {
    format!("<span class=\"svc\">{caller}</span> → {peer}</th><td class=\"num\">{calls}</td>")
}

struct Answer {
    status: u16,
    set_cookie: Option<String>,
    body: String,
}

async fn get(base: &str, path: &str, key: Option<&str>, cookie: Option<&str>) -> Answer {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut request = client.get(format!("{base}{path}"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    read(request.send().await.expect("request")).await
}

async fn read(response: reqwest::Response) -> Answer {
    Answer {
        status: response.status().as_u16(),
        set_cookie: response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: response.text().await.expect("body"),
    }
}

async fn sign_in(base: &str, key: &str) -> Answer {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let body = format!("key={key}");
    let response = client
        .post(format!("{base}/coverage/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("sign in");
    read(response).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_sees_only_its_own_coverage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stores = open_stores(&format!("embedded://{}", dir.path().display()))
        .await
        .expect("store");
    let now = now_unix_ns();
    let t = now - 30 * SECOND;
    // Tenant a: web -> payments (answered, OTLP linkage), web -> fraud-api (a ghost).
    let a_events = vec![
        event("a", 1, None, "web", Kind::HttpIn, None, 500, t),
        event("a", 2, Some(1), "web", Kind::HttpOut, Some("payments"), 503, t + 1_000),
        event("a", 3, Some(2), "payments", Kind::HttpIn, None, 503, t + 2_000),
        event("a", 4, Some(1), "web", Kind::HttpOut, Some("fraud-api"), 200, t + 3_000),
    ];
    // Tenant b: billing alone.
    // and a call in the live window that a slot already holds (rolled up
    // before): counted once. Tenant b's window is 10 minutes.
    let slot_end = now / SECOND / 300 * 300;
    let rolled_call = (slot_end - 10) * SECOND;
    let b_events = vec![
        event("b", 5, None, "billing", Kind::HttpIn, None, 200, t),
        event("b", 6, None, "billing", Kind::HttpIn, None, 200, rolled_call),
        event(
            "b",
            7,
            Some(6),
            "billing",
            Kind::HttpOut,
            Some("tax-api"),
            500,
            rolled_call + 1_000,
        ),
    ];
    for events in [&a_events, &b_events] {
        stores.window.put_events(events, now + 600 * SECOND).await.expect("put");
    }
    for stored in [
        artifact("a", "recent-full", "full", now - 60 * SECOND),
        artifact("a", "recent-low", "low", now - 120 * SECOND),
        artifact("a", "older-partial", "partial", now - 2 * 3_600 * SECOND),
        artifact("b", "b-full", "full", now - 60 * SECOND),
    ] {
        stores.artifacts.put_artifact(&stored).await.expect("put artifact");
    }
    // Rolled-up slots: three hours ago (in 24 h, not in 1 h) and half an
    // hour ago (in both); tenant b's slot is its own.
    let slot = now / SECOND / 300 * 300;
    let (hours_ago, minutes_ago) = (slot - 36 * 300, slot - 6 * 300);
    let topology = &stores.topology;
    topology
        .put_topology_slot(
            "a",
            hours_ago,
            &[edge("web", "fraud-api", 7, 0, 7), edge("web", "ledger", 40, 0, 4)],
        )
        .await
        .expect("slot");
    topology
        .put_topology_slot("a", minutes_ago, &[edge("web", "payments", 5, 5, 0)])
        .await
        .expect("slot");
    topology
        .put_topology_slot("b", hours_ago, &[edge("billing", "secret-vault", 11, 0, 0)])
        .await
        .expect("slot");
    topology
        .put_topology_slot("b", slot_end - 300, &[edge("billing", "tax-api", 1, 0, 1)])
        .await
        .expect("slot");
    let tenant_b = TenantConfig {
        pre_arm_seconds: Some(600),
        ..tenant("b", KEY_B)
    };
    let tenants = TenantRegistry::new(&[tenant("a", KEY_A), tenant_b], None).expect("tenants");
    let state = ReadApiState {
        config: Arc::new(AssemblerConfig::default()),
        tenants: Arc::new(tenants),
        window: stores.window.clone(),
        artifacts: stores.artifacts.clone(),
        topology: stores.topology.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(listener, http_router(state)).await });

    let a = get(&base, "/coverage?range=1h", Some(KEY_A), None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("<h1>Coverage of a</h1>"));
    assert!(
        a.body.contains("<p class=\"big\" id=\"instrumented\">2</p>"),
        "web and payments"
    );
    assert!(
        a.body.contains("<p class=\"big\" id=\"ghost-count\">1</p>"),
        "fraud-api"
    );
    assert!(a.body.contains("<span class=\"svc\">fraud-api</span>"));
    assert!(
        a.body
            .contains("Install the SDK (or an OpenTelemetry exporter) on <strong>fraud-api</strong>")
    );
    assert!(a.body.contains("<svg class=\"topology\""), "the topology picture");
    assert!(a.body.contains("<g class=\"node ghost\">"));
    assert!(
        a.body.contains("<p class=\"big\" id=\"alert-count\">2</p>"),
        "two alerts in the last hour"
    );
    assert!(a.body.contains("50.00%"), "one full, one low");
    assert!(
        !a.body.contains("billing") && !a.body.contains("b-full"),
        "nothing of tenant b"
    );

    // 1 h: the recent slot's calls and the live window's, not the older slot's.
    assert!(
        a.body.contains(&edge_calls("web", "payments", 6)),
        "5 rolled up + 1 live"
    );
    assert!(a.body.contains(&edge_calls("web", "fraud-api", 1)), "live only");
    assert!(!a.body.contains("ledger"), "three hours ago is outside 1 h");
    assert!(a.body.contains("1 five-minute slot rolled up"), "the period is said");
    assert!(
        a.body
            .contains("are not counted: the roll-up had not stored those slots"),
        "no slot after half an hour ago: the gap to the live window is said"
    );
    let a_day = get(&base, "/coverage?range=24h", Some(KEY_A), None).await;
    assert_eq!(a_day.status, 200, "{}", a_day.body);
    assert!(a_day.body.contains("2 five-minute slots rolled up"));
    assert!(a_day.body.contains(&edge_calls("web", "ledger", 40)));
    assert!(
        a_day.body.contains(&edge_calls("web", "fraud-api", 8)),
        "7 rolled up + 1 live"
    );
    assert!(a_day.body.contains(&edge_calls("web", "payments", 6)));
    assert!(
        a_day.body.contains("<p class=\"big\" id=\"ghost-count\">2</p>"),
        "ledger joins fraud-api"
    );
    let ledger = a_day
        .body
        .find("<span class=\"svc\">ledger</span></th>")
        .expect("ledger is a ghost");
    let fraud = a_day
        .body
        .find("<span class=\"svc\">fraud-api</span></th>")
        .expect("fraud-api is a ghost");
    assert!(ledger < fraud, "ranked by calls over the range");
    assert!(
        a_day.body[fraud..].starts_with(
            "<span class=\"svc\">fraud-api</span></th><td>web</td><td class=\"num\">8</td><td class=\"num fail\">87.5%</td><td class=\"num\">2.0ms</td>"
        ),
        "calls and caller-side errors over the range (7 of 8), latency from the live window"
    );
    assert!(
        a_day.body.contains("not called in the live window"),
        "ledger's latency is unknown, not zero"
    );
    assert!(!a_day.body.contains("secret-vault"), "nothing of tenant b's slots");
    let b_day = get(&base, "/coverage?range=24h", Some(KEY_B), None).await;
    assert!(b_day.body.contains(&edge_calls("billing", "secret-vault", 11)));
    assert!(
        b_day.body.contains(&edge_calls("billing", "tax-api", 1)),
        "a call both rolled up and in the live window counts once"
    );
    assert!(!b_day.body.contains("ledger") && !b_day.body.contains("payments"));

    let a_week = get(&base, "/coverage?range=7d", Some(KEY_A), None).await;
    assert!(
        a_week.body.contains("<p class=\"big\" id=\"alert-count\">3</p>"),
        "the older alert counts over 7 d"
    );
    assert!(a_week.body.contains("aria-current=\"page\">7 d</a>"));

    let b = get(&base, "/coverage", Some(KEY_B), None).await;
    assert_eq!(b.status, 200);
    assert!(b.body.contains("<h1>Coverage of b</h1>") && b.body.contains("billing"));
    for foreign in ["fraud-api", "payments", "recent-low", "ledger"] {
        assert!(!b.body.contains(foreign), "tenant b sees {foreign}");
    }

    // No key: the sign-in page; a wrong key there is refused; the right one sets the cookie.
    let anonymous = get(&base, "/coverage", None, None).await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.body.contains("<h1>Sign in</h1>"));
    assert_eq!(
        get(&base, "/coverage", Some("not-a-key-0123456789"), None).await.status,
        401
    );
    let refused = sign_in(&base, "not-a-key-0123456789").await;
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("key: not the API key of any workspace"));
    assert!(refused.set_cookie.is_none());
    let signed = sign_in(&base, KEY_B).await;
    assert_eq!(signed.status, 303);
    let cookie = signed.set_cookie.expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().expect("cookie pair").to_owned();
    let by_cookie = get(&base, "/coverage", None, Some(&pair)).await;
    assert_eq!(by_cookie.status, 200);
    assert!(by_cookie.body.contains("<h1>Coverage of b</h1>") && by_cookie.body.contains("Sign out"));

    let bad = get(&base, "/coverage?range=2w", Some(KEY_A), None).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("range"), "{}", bad.body);

    server.abort();
}

/// A window larger than the read limit is read to the limit, and the JSON
/// answers and the page say so instead of presenting a part as the whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_over_the_read_limit_is_said_to_be_capped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stores = open_stores(&format!("embedded://{}", dir.path().display()))
        .await
        .expect("store");
    let t = now_unix_ns() - 30 * SECOND;
    // The oldest event is db's, the newest api's: a capped read keeps the newest.
    let events: Vec<CausalEvent> = (1..=5)
        .map(|n| {
            let service = match n {
                1 => "db",
                5 => "api",
                _ => "web",
            };
            event("a", n, None, service, Kind::HttpIn, None, 200, t + u64::from(n))
        })
        .collect();
    stores
        .window
        .put_events(&events, now_unix_ns() + 600 * SECOND)
        .await
        .expect("put");
    let tenants = TenantRegistry::new(&[tenant("a", KEY_A)], None).expect("tenants");
    for (limit, truncated) in [(3_usize, true), (5, false)] {
        let state = ReadApiState {
            config: Arc::new(AssemblerConfig {
                max_window_events: limit,
                ..AssemblerConfig::default()
            }),
            tenants: Arc::new(tenants.clone()),
            window: stores.window.clone(),
            artifacts: stores.artifacts.clone(),
            topology: stores.topology.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move { axum::serve(listener, http_router(state)).await });
        for path in ["/api/v1/coverage", "/api/v1/topology"] {
            let answer = get(&base, path, Some(KEY_A), None).await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            let body: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
            assert_eq!(
                body["window"],
                serde_json::json!({ "events_read": limit.min(5), "limit": limit, "truncated": truncated }),
                "{path} with a limit of {limit}"
            );
        }
        let coverage = get(&base, "/api/v1/coverage", Some(KEY_A), None).await;
        let body: serde_json::Value = serde_json::from_str(&coverage.body).expect("json");
        let expected = if truncated {
            serde_json::json!(["api", "web"])
        } else {
            serde_json::json!(["api", "db", "web"])
        };
        assert_eq!(
            body["coverage"]["instrumented_services"], expected,
            "the newest events are the ones read (limit {limit})"
        );
        let page = get(&base, "/coverage", Some(KEY_A), None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(
            page.body
                .contains(&format!("The live window holds more than {limit} events")),
            truncated,
            "the page says whether the window was capped (limit {limit})"
        );
        server.abort();
    }
}
