//! `causeway assemble`: the artifact from event files, offline — for
//! incident reviews and for checking what an SDK really sends.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use causeway_assembly::{AssemblyInput, assemble, render_waterfall};
use causeway_model::{Alert, CausalEvent};

/// Offline files carry no credential: their events belong to this tenant.
const OFFLINE_TENANT: &str = "offline";

#[derive(Debug, Clone, clap::Args)]
pub struct AssembleArgs {
    /// Event files: Incidentary wire v1 batches (what the SDK posts), OTLP/JSON
    /// exports, or OTLP protobuf (`.pb`). Several may be given.
    #[arg(long = "events", value_name = "FILE", required = true, num_args = 1..)]
    pub events: Vec<PathBuf>,
    /// The alert, as the generic alert JSON (`{service, fired_at, title, source, trace_id?}`).
    #[arg(long, value_name = "FILE")]
    pub alert: PathBuf,
    /// Print the canonical artifact JSON instead of the waterfall.
    #[arg(long)]
    pub json: bool,
    /// Look-back before the alert.
    #[arg(long, default_value_t = 300)]
    pub pre_arm_seconds: u64,
    /// Wait after the alert for late flushes.
    #[arg(long, default_value_t = 5_000)]
    pub settle_ms: u64,
    /// Never use colors (default: colors on a terminal).
    #[arg(long)]
    pub no_color: bool,
}

pub fn run(args: AssembleArgs) -> anyhow::Result<()> {
    let mut events = Vec::new();
    for path in &args.events {
        events.extend(read_events(path)?);
    }
    let alert_bytes = std::fs::read(&args.alert).with_context(|| format!("reading {}", args.alert.display()))?;
    let alert = Alert::from_generic_json(&alert_bytes, OFFLINE_TENANT, "offline".to_owned())
        .map_err(|err| anyhow::anyhow!("{}: {err}", args.alert.display()))?;
    let settle_ns = args.settle_ms.saturating_mul(1_000_000);
    let input = AssemblyInput {
        // Stamped at the end of the scope, so the same files always give
        // the same artifact (and digest).
        assembled_at_unix_ns: alert.fired_at_unix_ns.saturating_add(settle_ns),
        preselection: None,
        activity: None,
        window: Default::default(),
        cuts: Vec::new(),
        peer_calls: Default::default(),
        pre_arm_ns: args.pre_arm_seconds.saturating_mul(1_000_000_000),
        settle_ns,
        candidates: events.clone(),
        window_events: events,
        pre_arm_signals: Vec::new(),
        alert,
    };
    let artifact = assemble(&input);
    let mut out = std::io::stdout().lock();
    if args.json {
        out.write_all(&artifact.canonical_json())?;
        out.write_all(b"\n")?;
    } else {
        let color = !args.no_color && std::io::stdout().is_terminal();
        out.write_all(render_waterfall(&artifact, color).as_bytes())?;
    }
    Ok(())
}

/// Decodes one file by its content: OTLP protobuf for `.pb`, else JSON with
/// `resourceSpans` (OTLP/JSON) or `events` (Incidentary wire v1).
fn read_events(path: &Path) -> anyhow::Result<Vec<CausalEvent>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let shown = path.display();
    // Offline files are old by nature: no clock-skew check (u64::MAX).
    let now = u64::MAX;
    if path.extension().is_some_and(|ext| ext == "pb") {
        return causeway_model::otlp::decode_otlp_protobuf(&bytes, OFFLINE_TENANT, now)
            .map_err(|err| anyhow::anyhow!("{shown}: {err}"));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|err| anyhow::anyhow!("{shown}: not JSON: {err}"))?;
    if value.get("resourceSpans").is_some() || value.get("resource_spans").is_some() {
        causeway_model::otlp::decode_otlp_json(&bytes, OFFLINE_TENANT, now)
            .map_err(|err| anyhow::anyhow!("{shown}: {err}"))
    } else if value.get("events").is_some() {
        causeway_model::wire_v1::decode_sdk_batch(&bytes, OFFLINE_TENANT, now)
            .map(|batch| batch.events)
            .map_err(|err| anyhow::anyhow!("{shown}: {err}"))
    } else {
        anyhow::bail!("{shown}: neither an Incidentary batch (`events`) nor an OTLP/JSON export (`resourceSpans`)")
    }
}
