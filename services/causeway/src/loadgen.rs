//! `causeway loadgen`: drives a running gateway with realistic, distinct
//! traffic over one ingest protocol — traces across services, failures
//! deep in the chain, calls to uninstrumented dependencies — and reports
//! what was acknowledged, what was refused and why, the rate and the
//! acknowledgement latency. `--verify` reads every acknowledged trace
//! back; `--report-server-cpu` divides the server's CPU time by the CEs it
//! acknowledged. Requests are encoded before the clock starts (the whole run,
//! or a pool sent round after round with fresh ids and times), so the
//! generator stays off the server's cores.

pub mod args;
mod driver;
mod payload;
mod recycle;
mod sender;
mod server_cpu;
mod stats;
mod traffic;
mod verify;

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::bail;
use serde::Serialize;

pub use args::{LoadgenArgs, Protocol};
use driver::Source;
use payload::Batcher;
use recycle::{Recycler, Template};
use sender::Sender;
pub use server_cpu::ServerCpu;
pub use stats::Latency;
use traffic::Traffic;
pub use verify::VerifyReport;

use crate::demo::rng::Rng;
use crate::demo::topology::Reporting;

/// The result of one run; `--json` prints it as is.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub protocol: &'static str,
    pub target: String,
    pub batch: usize,
    pub concurrency: usize,
    pub services: usize,
    /// CEs per second asked for; `None` with `--max`.
    pub rate: Option<u64>,
    /// Whether the whole run was encoded before it started.
    pub prebuilt: bool,
    /// Otherwise, the CEs of the pool sent round after round.
    pub pool_ces: Option<u64>,
    pub sent_ces: u64,
    pub acked_ces: u64,
    pub rejected_ces: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub requests: u64,
    pub acked_requests: u64,
    pub retries: u64,
    pub elapsed_seconds: f64,
    /// Acknowledged CEs per second of the run.
    pub ces_per_sec: f64,
    /// Per request, from sending to the acknowledgement.
    pub ack_latency_ms: Latency,
    pub verify: Option<VerifyReport>,
    pub server_cpu: Option<ServerCpu>,
}

/// Runs the load and prints the summary (or the JSON); an error when
/// `--verify` found an acknowledged CE missing.
pub async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    let as_json = args.json;
    let report = drive(args, !as_json).await?;
    if as_json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", summary(&report));
    }
    if let Some(verify) = &report.verify
        && verify.missing_ces > 0
    {
        // A windower still catching up looks the same from here: say how
        // to tell the two apart.
        bail!(
            "{} of {} acknowledged CEs are missing from the window after {:.0}s of reading (e.g. {}); \
             if the windower is still behind (its causeway_windower_events_written_total below the \
             gateway's causeway_gateway_events_accepted_total), raise --verify-timeout",
            verify.missing_ces,
            verify.checked_ces,
            verify.seconds,
            verify.missing_examples.join(", ")
        );
    }
    Ok(())
}

/// Sends the load and gathers the report; `progress` draws the progress
/// line on stderr when it is a terminal.
pub async fn drive(args: LoadgenArgs, progress: bool) -> anyhow::Result<Report> {
    let plan = args.plan()?;
    let key = crate::demo::api_key::resolve(args.api_key.as_deref(), &args.data_dir)?;
    let reporting = match plan.protocol {
        Protocol::SdkJson => Reporting::SdkJson,
        _ => Reporting::Otlp,
    };
    let rng = args.seed.map_or_else(Rng::from_entropy, Rng::seeded);
    let traffic = Traffic::new(rng, traffic::services(plan.services, reporting), plan.failure_per_mille);
    let mut batcher = Batcher::new(traffic, plan.protocol, plan.batch);
    let sender = Sender::connect(plan.protocol, &plan.target, &key).await?;

    // Runs up to `--prebuild-max-ces` are encoded in full before the clock
    // starts; larger or open-ended runs send a pool of that size round after
    // round, each round with fresh ids and times (see recycle.rs), so the
    // generator never encodes while the clock runs.
    let planned = plan.planned_ces();
    let whole = planned.filter(|&ces| ces <= plan.prebuild_max_ces);
    let pool_ces = whole.unwrap_or(plan.prebuild_max_ces.max(plan.batch as u64));
    let built_at = causeway_runtime::clock::now_unix_ns();
    // Under a rate, each trace ends where its slot in the run will be, so it is
    // recent when sent; otherwise it ends now, before the run starts.
    let rate = plan.rate;
    let stamp = move |generated: u64| match rate {
        Some(rate) => built_at + (generated as f64 / rate as f64 * 1e9) as u64,
        None => built_at,
    };
    let prepared = Instant::now();
    let requests = batcher.all(pool_ces, stamp)?;
    if progress {
        eprintln!(
            "loadgen: {} CEs in {} {} requests encoded in {:.1}s{}",
            requests.iter().map(|r| r.events).sum::<usize>(),
            requests.len(),
            plan.protocol.label(),
            prepared.elapsed().as_secs_f64(),
            if whole.is_some() {
                ""
            } else {
                ", sent round after round with fresh ids"
            }
        );
    }
    let source = match whole {
        Some(_) => Source::prebuilt(requests),
        None => {
            let templates = requests
                .into_iter()
                .map(|request| Template::new(plan.protocol, request))
                .collect::<anyhow::Result<Vec<_>>>()?;
            Source::Recycled(Recycler::new(templates, planned))
        }
    };

    let cpu_start = args.report_server_cpu.map(server_cpu::sample).transpose()?;
    let outcome = driver::run(&plan, sender, source, progress).await;
    let server_cpu = match (args.report_server_cpu, cpu_start) {
        (Some(pid), Some(start)) => {
            let at_last_ack = server_cpu::ticks(pid)?;
            let waited = Instant::now();
            let idle = server_cpu::when_idle(pid).await?;
            Some(server_cpu::report(
                pid,
                (&start, at_last_ack, &idle),
                outcome.stats.acked_ces,
                waited.elapsed(),
            ))
        }
        _ => None,
    };
    let verify = if args.verify {
        Some(verify::verify(&plan.read_url, &key, &outcome.acked, args.verify_timeout).await?)
    } else {
        None
    };
    let stats = &outcome.stats;
    let seconds = outcome.elapsed.as_secs_f64().max(f64::EPSILON);
    Ok(Report {
        protocol: plan.protocol.label(),
        target: plan.target.clone(),
        batch: plan.batch,
        concurrency: plan.concurrency,
        services: plan.services,
        rate: plan.rate,
        prebuilt: whole.is_some(),
        pool_ces: whole.is_none().then_some(pool_ces),
        sent_ces: stats.sent_ces,
        acked_ces: stats.acked_ces,
        rejected_ces: stats.rejected_ces(),
        rejected_by_reason: stats.rejected.clone(),
        requests: stats.requests,
        acked_requests: stats.acked_requests,
        retries: stats.retries,
        elapsed_seconds: outcome.elapsed.as_secs_f64(),
        ces_per_sec: stats.acked_ces as f64 / seconds,
        ack_latency_ms: stats.latency(),
        verify,
        server_cpu,
    })
}

/// The human summary.
pub fn summary(report: &Report) -> String {
    let mut out = format!(
        "{} to {}: {} requests of up to {} events, {} in flight, {} services\n",
        report.protocol, report.target, report.requests, report.batch, report.concurrency, report.services
    );
    out += &format!(
        "sent {} CEs, acknowledged {}, rejected {}{}\n",
        report.sent_ces,
        report.acked_ces,
        report.rejected_ces,
        if report.retries > 0 {
            format!(" ({} retries)", report.retries)
        } else {
            String::new()
        }
    );
    for (reason, count) in &report.rejected_by_reason {
        out += &format!("  rejected {reason}: {count} CEs\n");
    }
    let latency = report.ack_latency_ms;
    out += &format!(
        "{:.0} CE/s over {:.2}s; ack latency p50 {:.1} ms, p99 {:.1} ms, p999 {:.1} ms, max {:.1} ms\n",
        report.ces_per_sec, report.elapsed_seconds, latency.p50, latency.p99, latency.p999, latency.max
    );
    if let Some(cpu) = &report.server_cpu {
        out += &format!(
            "server pid {}: {:.2} CPU s while sending, {:.2} CPU s until idle ({:.1}s after the last ack): \
             {:.1} µs CPU per acknowledged CE\n",
            cpu.pid,
            cpu.cpu_seconds_while_sending,
            cpu.cpu_seconds_total,
            cpu.settled_after_seconds,
            cpu.cpu_us_per_acked_ce
        );
        let split: Vec<String> = cpu
            .cpu_us_per_acked_ce_by_thread
            .iter()
            .filter(|(_, us)| **us > 0.0)
            .map(|(name, us)| format!("{name} {us:.2}"))
            .collect();
        out += &format!("  by thread (µs per CE): {}\n", split.join(", "));
    }
    if let Some(verify) = &report.verify {
        out += &if verify.missing_ces == 0 {
            format!(
                "verified: all {} acknowledged CEs of {} traces are in the window ({:.1}s)\n",
                verify.checked_ces, verify.traces, verify.seconds
            )
        } else {
            format!(
                "verify: {} of {} acknowledged CEs missing after {:.1}s\n",
                verify.missing_ces, verify.checked_ces, verify.seconds
            )
        };
    }
    out
}
