//! The flags of `causeway loadgen` and the run plan they resolve to.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use causeway_model::limits::MAX_EVENTS_PER_BATCH;

use super::traffic::MAX_SERVICES;

/// The ingest path the load goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Incidentary wire format v1 batches, `POST /api/v1/ingest/batch`.
    SdkJson,
    /// OTLP `TraceService/Export` over gRPC.
    OtlpGrpc,
    /// OTLP/HTTP protobuf, `POST /v1/traces`.
    OtlpHttp,
    /// `causeway.v1.IngestService/Ingest` (a `CeBatch`).
    Grpc,
}

impl Protocol {
    pub fn label(self) -> &'static str {
        match self {
            Protocol::SdkJson => "sdk-json",
            Protocol::OtlpGrpc => "otlp-grpc",
            Protocol::OtlpHttp => "otlp-http",
            Protocol::Grpc => "grpc",
        }
    }

    pub fn is_grpc(self) -> bool {
        matches!(self, Protocol::OtlpGrpc | Protocol::Grpc)
    }
}

/// Arguments of `causeway loadgen`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadgenArgs {
    /// Where the load goes [default: http://127.0.0.1:4318, or http://127.0.0.1:4317 for the gRPC protocols].
    #[arg(long)]
    pub target: Option<String>,
    /// The HTTP address of the read API, for --verify [default: --target for the HTTP protocols, else
    /// http://127.0.0.1:4318].
    #[arg(long)]
    pub read_url: Option<String>,
    #[arg(long, value_enum, default_value_t = Protocol::SdkJson)]
    pub protocol: Protocol,
    /// API key [default: $CAUSEWAY_DEV_API_KEY, else the dev key file in --data-dir].
    #[arg(long, env = "CAUSEWAY_DEV_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Data directory of `causeway standalone`, where it keeps its generated dev key.
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Target rate in CEs per second.
    #[arg(long, conflicts_with = "max", value_parser = clap::value_parser!(u64).range(1..))]
    pub rate: Option<u64>,
    /// As fast as the gateway acknowledges (the default without --rate).
    #[arg(long)]
    pub max: bool,
    /// How long to send, e.g. `30s`, `2m`, `500ms` [default: 10s unless --ces is given].
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after this many CEs (rounded up to the end of a trace).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub ces: Option<u64>,
    /// Instrumented services the traces cross.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=MAX_SERVICES as i64))]
    pub services: u16,
    /// Events per request (one service's flush).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=MAX_EVENTS_PER_BATCH as i64))]
    pub batch: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,
    /// Share of traces that fail (a 503 deep in the chain), 0 to 1.
    #[arg(long, default_value_t = 0.05, value_parser = parse_fraction)]
    pub failure_rate: f64,
    /// Attempts per request while the gateway answers 503 (retryable).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub attempts: u32,
    /// Seed for reproducible traffic [default: random].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Runs of at most this many CEs (by --ces, or --rate times --duration) are encoded in full
    /// before the clock starts; larger or open-ended runs encode a pool of this many and send it
    /// round after round, each round with fresh ids and times. Memory: ~200 B per CE of OTLP
    /// protobuf, ~400 B of SDK JSON.
    #[arg(long, default_value_t = 400_000)]
    pub prebuild_max_ces: u64,
    /// Read every acknowledged trace back through the read API and report missing CEs (non-zero exit if any).
    #[arg(long)]
    pub verify: bool,
    /// How long --verify waits for the window to hold every acknowledged CE.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub verify_timeout: Duration,
    /// Also report the CPU time (utime + stime from /proc) this process id spent per acknowledged CE:
    /// from the first send until it is idle again after the last acknowledgement.
    #[arg(long, value_name = "PID")]
    pub report_server_cpu: Option<u32>,
    /// Print one JSON object on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// The checked run: when to stop, how fast, where to send.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: String,
    pub read_url: String,
    pub protocol: Protocol,
    /// `None`: as fast as acknowledged.
    pub rate: Option<u64>,
    pub duration: Option<Duration>,
    pub ces: Option<u64>,
    pub services: usize,
    pub batch: usize,
    pub concurrency: usize,
    pub failure_per_mille: u64,
    pub attempts: u32,
    pub prebuild_max_ces: u64,
}

const DEFAULT_DURATION: Duration = Duration::from_secs(10);

impl LoadgenArgs {
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let default_target = if self.protocol.is_grpc() {
            "http://127.0.0.1:4317"
        } else {
            "http://127.0.0.1:4318"
        };
        let target = trim_url(self.target.as_deref().unwrap_or(default_target), "--target")?;
        let read_url = match (&self.read_url, self.protocol.is_grpc()) {
            (Some(url), _) => trim_url(url, "--read-url")?,
            (None, false) => target.clone(),
            (None, true) => "http://127.0.0.1:4318".to_owned(),
        };
        let duration = match (self.duration, self.ces) {
            (None, None) => Some(DEFAULT_DURATION),
            (duration, _) => duration,
        };
        Ok(Plan {
            target,
            read_url,
            protocol: self.protocol,
            rate: if self.max { None } else { self.rate },
            duration,
            ces: self.ces,
            services: usize::from(self.services),
            batch: self.batch as usize,
            concurrency: self.concurrency as usize,
            failure_per_mille: (self.failure_rate * 1000.0).round() as u64,
            attempts: self.attempts,
            prebuild_max_ces: self.prebuild_max_ces,
        })
    }
}

impl Plan {
    /// CEs the run will send when that is known in advance.
    pub fn planned_ces(&self) -> Option<u64> {
        let by_rate = match (self.rate, self.duration) {
            (Some(rate), Some(duration)) => Some((rate as f64 * duration.as_secs_f64()).ceil() as u64),
            _ => None,
        };
        match (self.ces, by_rate) {
            (Some(ces), Some(by_rate)) => Some(ces.min(by_rate)),
            (ces, by_rate) => ces.or(by_rate),
        }
    }
}

fn trim_url(url: &str, flag: &str) -> anyhow::Result<String> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("{flag} {url:?} must start with http:// or https://");
    }
    Ok(url.to_owned())
}

/// `250ms`, `30s`, `2m`, `1h`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 500ms, 30s, 2m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {text:?} (ms, s, m, h)")),
    };
    if !(seconds > 0.0 && seconds <= 7.0 * 86_400.0) {
        return Err(format!("{text:?} must be above zero and at most a week"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    let value: f64 = text.trim().parse().map_err(|_| format!("{text:?} is not a number"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("{value} must be between 0 and 1"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_fractions_parse_with_clear_errors() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5d").expect_err("unit").contains("unknown unit"));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_fraction("0.25"), Ok(0.25));
        assert!(parse_fraction("1.5").is_err());
    }
}
