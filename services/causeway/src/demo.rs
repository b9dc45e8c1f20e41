//! `causeway demo`: drives a five-service shop against a running gateway —
//! two services on the Incidentary SDK's JSON batches, three on OTLP, one
//! uninstrumented dependency — injects a failure deep in the chain, fires an
//! alert on the edge service and prints the artifact: its share link and
//! its waterfall. See docs/demo.md.

pub(crate) mod api_key;
mod checks;
mod client;
pub(crate) mod flushes;
pub(crate) mod otlp;
pub(crate) mod progress;
pub(crate) mod rng;
pub(crate) mod sdk_json;
mod timeline;
pub(crate) mod topology;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use causeway_assembly::{Artifact, render_waterfall};
use causeway_model::time_parse::format_rfc3339;
use causeway_runtime::clock::now_unix_ns;
use serde_json::{Value, json};

pub use checks::Check;
use client::Gateway;
use progress::Progress;
use topology::{ALERTING_SERVICE, BREAK_STATUS, BREAKING_SERVICE, GHOST, Reporting, SERVICES};

/// How often the alert's state is polled while the assembler works.
const POLL_EVERY: Duration = Duration::from_millis(250);

/// Arguments of `causeway demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// HTTP address of the gateway (in `causeway standalone` every route is served there).
    #[arg(long, default_value = "http://127.0.0.1:4318")]
    pub url: String,
    /// API key to send with [default: $CAUSEWAY_DEV_API_KEY, else the dev key file in --data-dir].
    #[arg(long, env = "CAUSEWAY_DEV_API_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Data directory of `causeway standalone`, where it keeps its generated dev key (`dev-api-key`).
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Background requests spread over the last two minutes; each crosses all five services.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(0..=20_000))]
    pub traces: u32,
    /// How long to wait for the artifact after the alert, in seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub wait_seconds: u64,
    /// Print the artifact's canonical JSON on stdout instead of the waterfall.
    #[arg(long)]
    pub json: bool,
    /// Never color the waterfall (colors are used only when stdout is a terminal).
    #[arg(long)]
    pub no_color: bool,
    /// How the alert is fired: the generic alert JSON, or a signed PagerDuty
    /// V3 `incident.triggered` webhook (needs the tenant's PagerDuty
    /// integration; docs/integrations.md).
    #[arg(long, value_enum, default_value_t = AlertVia::Generic)]
    pub alert_via: AlertVia,
    /// The PagerDuty signing secret the tenant's integration verifies with
    /// (`--alert-via pagerduty`).
    #[arg(long, env = "CAUSEWAY_DEMO_PAGERDUTY_SECRET", hide_env_values = true)]
    pub pagerduty_secret: Option<String>,
}

/// How `causeway demo` fires its alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AlertVia {
    Generic,
    Pagerduty,
}

/// What was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub events: usize,
    pub requests: usize,
    pub sdk_requests: usize,
    pub otlp_requests: usize,
    pub traces: usize,
    pub failing_traces: usize,
}

/// The result of one demo run.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    pub sent: Sent,
    pub alert_id: String,
    pub artifact_id: String,
    /// Absolute share link.
    pub share_url: String,
    /// The artifact's canonical JSON, as the read API served it.
    pub artifact_json: String,
    pub artifact: Artifact,
    /// From the alert to the assembled artifact.
    pub assembled_in: Duration,
    /// The injected failure and ghost, the share link: met or not.
    pub checks: Vec<Check>,
}

/// Runs the demo and prints the share link, the waterfall (or the JSON)
/// and whether the artifact shows what was injected.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let color = !args.no_color && !args.json && std::io::stdout().is_terminal();
    let as_json = args.json;
    let outcome = drive(args).await?;
    if as_json {
        println!("{}", outcome.artifact_json);
        eprintln!("share link: {}", outcome.share_url);
    } else {
        println!("share link: {}\n", outcome.share_url);
        print!("{}", render_waterfall(&outcome.artifact, color));
        println!();
    }
    for check in &outcome.checks {
        let mark = if check.met { "ok  " } else { "WARN" };
        eprintln!("{mark} {}", check.message);
    }
    Ok(())
}

/// Sends the traffic, fires the alert, waits for the artifact and checks
/// it. Prints progress on stderr only.
pub async fn drive(args: DemoArgs) -> anyhow::Result<DemoOutcome> {
    let key = api_key::resolve(args.key.as_deref(), &args.data_dir)?;
    let gateway = Gateway::new(&args.url, &key)?;
    let sent = send_traffic(&gateway, args.traces as usize).await?;

    let fired_at = now_unix_ns();
    let alert_id = match args.alert_via {
        AlertVia::Generic => {
            let alert = json!({
                "service": ALERTING_SERVICE,
                "fired_at": format_rfc3339(fired_at),
                "title": "web 5xx rate above 5%",
                "source": "demo",
            });
            gateway.fire_alert(&alert).await?
        }
        AlertVia::Pagerduty => {
            let Some(secret) = args.pagerduty_secret.as_deref() else {
                bail!("--alert-via pagerduty needs --pagerduty-secret (or CAUSEWAY_DEMO_PAGERDUTY_SECRET)");
            };
            let incident = pagerduty_incident(fired_at);
            gateway.fire_pagerduty(&incident, secret).await?
        }
    };
    eprintln!(
        "alert fired on {ALERTING_SERVICE} at {} (alert {alert_id})",
        format_rfc3339(fired_at)
    );
    let started = Instant::now();
    let (artifact_id, share_url) =
        wait_for_artifact(&gateway, &alert_id, Duration::from_secs(args.wait_seconds)).await?;
    let assembled_in = started.elapsed();

    let artifact_json = gateway.artifact(&artifact_id).await?;
    let artifact: Artifact = serde_json::from_str(&artifact_json).context("reading the artifact json")?;
    let share_url = gateway.absolute(&share_url);
    let mut checks = checks::expectations(&artifact);
    checks.push(share_link_check(&gateway, &share_url, &artifact_json).await);
    Ok(DemoOutcome {
        sent,
        alert_id,
        artifact_id,
        share_url,
        artifact_json,
        artifact,
        assembled_in,
        checks,
    })
}

async fn send_traffic(gateway: &Gateway, background: usize) -> anyhow::Result<Sent> {
    let now = now_unix_ns();
    let timeline = timeline::plan(&mut rng::Rng::from_entropy(), now, background);
    let flushes = flushes::flushes(&timeline.steps, now)?;
    eprintln!(
        "sending {} requests over the last 2 minutes through {} ({} on the sdk, the rest on otlp); \
         {BREAKING_SERVICE} answers {BREAK_STATUS} from {} on; {GHOST} is called but not instrumented",
        timeline.requests,
        SERVICES
            .iter()
            .map(|service| service.name)
            .collect::<Vec<_>>()
            .join(", "),
        SERVICES
            .iter()
            .filter(|s| s.reporting == Reporting::SdkJson)
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(" and "),
        format_rfc3339(timeline.incident_start_ns),
    );
    let mut progress = Progress::new("sending events", timeline.steps.len() as u64);
    for flush in &flushes {
        gateway.send(flush).await?;
        progress.advance(flush.events as u64);
    }
    let sdk_requests = flushes
        .iter()
        .filter(|flush| flush.reporting == Reporting::SdkJson)
        .count();
    let sent = Sent {
        events: timeline.steps.len(),
        requests: flushes.len(),
        sdk_requests,
        otlp_requests: flushes.len() - sdk_requests,
        traces: timeline.requests,
        failing_traces: timeline.failing_requests,
    };
    progress.finish(&format!(
        "{} events in {} requests ({} sdk batches, {} otlp exports) to {}",
        sent.events,
        sent.requests,
        sent.sdk_requests,
        sent.otlp_requests,
        gateway.base()
    ));
    Ok(sent)
}

/// A PagerDuty V3 `incident.triggered` webhook for the alerting service,
/// in the documented shape (services/gateway/tests/fixtures/pagerduty).
fn pagerduty_incident(fired_at: u64) -> Value {
    let incident = format!("PDEMO{}", fired_at % 1_000_000_000);
    json!({
        "event": {
            "id": uuid::Uuid::new_v4().to_string(),
            "event_type": "incident.triggered",
            "resource_type": "incident",
            "occurred_at": format_rfc3339(fired_at),
            "agent": null,
            "client": null,
            "data": {
                "id": incident,
                "type": "incident",
                "self": format!("https://api.pagerduty.com/incidents/{incident}"),
                "html_url": format!("https://demo.pagerduty.com/incidents/{incident}"),
                "number": 1,
                "status": "triggered",
                "incident_key": incident,
                "created_at": format_rfc3339(fired_at),
                "title": "web 5xx rate above 5%",
                "service": {
                    "id": "PDEMOWEB",
                    "summary": ALERTING_SERVICE,
                    "type": "service_reference",
                    "self": "https://api.pagerduty.com/services/PDEMOWEB",
                    "html_url": "https://demo.pagerduty.com/services/PDEMOWEB"
                },
                "assignees": [],
                "urgency": "high",
                "resolve_reason": null
            }
        }
    })
}

/// Polls the alert until it is assembled; `(artifact_id, share_url)`.
async fn wait_for_artifact(gateway: &Gateway, alert_id: &str, limit: Duration) -> anyhow::Result<(String, String)> {
    let deadline = Instant::now() + limit;
    let mut progress = Progress::new("waiting for the artifact", 0);
    let mut last_state = "not visible yet".to_owned();
    while Instant::now() < deadline {
        if let Some(state) = gateway.alert_state(alert_id).await? {
            let text = |key: &str| state.get(key).and_then(Value::as_str).map(str::to_owned);
            match text("state").as_deref() {
                Some("assembled") => {
                    let (Some(artifact_id), Some(share_url)) = (text("artifact_id"), text("share_url")) else {
                        bail!("alert {alert_id} is assembled but names no artifact or share link: {state}");
                    };
                    progress.finish(&format!("assembled (artifact {artifact_id})"));
                    return Ok((artifact_id, share_url));
                }
                Some("failed") => {
                    let error = text("error").unwrap_or_else(|| "no reason given".to_owned());
                    bail!("the assembler could not assemble alert {alert_id}: {error}");
                }
                Some(other) => last_state = other.to_owned(),
                None => bail!("unexpected alert state answer: {state}"),
            }
        }
        progress.status(&format!(
            "alert is {last_state}; the assembler waits its settle delay for late flushes"
        ));
        tokio::time::sleep(POLL_EVERY).await;
    }
    bail!(
        "no artifact within {}s: alert {alert_id} is still {last_state}; is the assembler running \
         (in `causeway standalone` it is)? retry with a longer --wait-seconds",
        limit.as_secs()
    )
}

/// The share link must serve the same artifact, without a key.
async fn share_link_check(gateway: &Gateway, share_url: &str, artifact_json: &str) -> Check {
    match gateway.shared(&format!("{share_url}.json")).await {
        Ok(shared) if shared.trim() == artifact_json.trim() => Check {
            met: true,
            message: "the share link serves the same artifact, no key needed".to_owned(),
        },
        Ok(_) => Check {
            met: false,
            message: format!("expected {share_url}.json to serve the same artifact, found different bytes"),
        },
        Err(err) => Check {
            met: false,
            message: format!("expected {share_url} to open without a key: {err:#}"),
        },
    }
}
