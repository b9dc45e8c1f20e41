//! Runs the load: `concurrency` workers take requests from the source,
//! wait for their slot when a rate is set, send, retry what the gateway
//! says to retry, and count. A ticker redraws the progress line.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use causeway_model::{CeId, TraceId};

use super::args::Plan;
use super::payload::Request;
use super::recycle::Recycler;
use super::sender::{Answer, Sender};
use super::stats::Stats;
use crate::demo::progress::bar;

/// Longest pause a `Retry-After` may impose on one request.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);
const REDRAW_EVERY: Duration = Duration::from_millis(200);

/// Where the workers take their next request.
pub enum Source {
    /// Every request encoded before the clock starts.
    Prebuilt(Mutex<VecDeque<Request>>),
    /// A pool encoded before the clock starts, sent round after round with
    /// fresh ids and times (runs larger than the pool, or open-ended).
    Recycled(Recycler),
}

impl Source {
    pub fn prebuilt(requests: Vec<Request>) -> Self {
        Source::Prebuilt(Mutex::new(requests.into()))
    }

    fn next(&self) -> Option<Request> {
        match self {
            Source::Prebuilt(queue) => queue.lock().ok()?.pop_front(),
            Source::Recycled(pool) => pool.next(),
        }
    }
}

/// What a finished run hands back.
pub struct Run {
    pub stats: Stats,
    /// Ids of every acknowledged CE.
    pub acked: Vec<(TraceId, CeId)>,
    /// First send to last answer.
    pub elapsed: Duration,
}

struct Shared {
    source: Source,
    sender: Sender,
    stats: Mutex<Stats>,
    acked: Mutex<Vec<(TraceId, CeId)>>,
    /// CEs handed to workers so far: each request's slot under a rate.
    dispatched: AtomicU64,
    started: Instant,
    deadline: Option<Instant>,
    rate: Option<u64>,
    attempts: u32,
}

pub async fn run(plan: &Plan, sender: Sender, source: Source, progress: bool) -> Run {
    let started = Instant::now();
    let shared = Arc::new(Shared {
        source,
        sender,
        stats: Mutex::new(Stats::default()),
        acked: Mutex::new(Vec::new()),
        dispatched: AtomicU64::new(0),
        started,
        deadline: plan.duration.map(|duration| started + duration),
        rate: plan.rate,
        attempts: plan.attempts,
    });
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.concurrency {
        workers.spawn(worker(Arc::clone(&shared)));
    }
    let ticker = (progress && std::io::stderr().is_terminal())
        .then(|| tokio::spawn(tick(Arc::clone(&shared), plan.planned_ces())));
    while workers.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    if let Some(ticker) = ticker {
        ticker.abort();
        eprint!("\r\x1b[K");
    }
    let stats = shared
        .stats
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    let acked = shared
        .acked
        .lock()
        .map(|mut a| std::mem::take(&mut *a))
        .unwrap_or_default();
    Run { stats, acked, elapsed }
}

async fn worker(shared: Arc<Shared>) {
    while let Some(request) = shared.source.next() {
        if let Some(rate) = shared.rate {
            let before = shared.dispatched.fetch_add(request.events as u64, Ordering::Relaxed);
            let due = shared.started + Duration::from_secs_f64(before as f64 / rate as f64);
            if shared.deadline.is_some_and(|deadline| due >= deadline) {
                return;
            }
            tokio::time::sleep_until(due.into()).await;
        }
        if shared.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return;
        }
        send(&shared, request).await;
    }
}

/// Sends one request until it is acknowledged, refused for good, or out of attempts.
async fn send(shared: &Shared, request: Request) {
    let mut attempt = 1;
    loop {
        let sent_at = Instant::now();
        let answer = shared.sender.send(request.body.clone()).await;
        let latency = sent_at.elapsed();
        match answer {
            Answer::Acked => {
                if let Ok(mut stats) = shared.stats.lock() {
                    stats.acked(request.events, latency);
                }
                if let Ok(mut acked) = shared.acked.lock() {
                    acked.extend_from_slice(&request.ids);
                }
                return;
            }
            Answer::Refused {
                retry_after: Some(wait),
                ..
            } if attempt < shared.attempts => {
                if let Ok(mut stats) = shared.stats.lock() {
                    stats.retries += 1;
                }
                attempt += 1;
                tokio::time::sleep(wait.min(MAX_RETRY_WAIT)).await;
            }
            Answer::Refused { reason, .. } => {
                if let Ok(mut stats) = shared.stats.lock() {
                    stats.refused(request.events, &reason);
                }
                return;
            }
        }
    }
}

/// Redraws `sent … acked … CE/s` in place on stderr.
async fn tick(shared: Arc<Shared>, total: Option<u64>) {
    loop {
        tokio::time::sleep(REDRAW_EVERY).await;
        let Ok((sent, acked, refused)) = shared
            .stats
            .lock()
            .map(|stats| (stats.sent_ces, stats.acked_ces, stats.rejected_ces()))
        else {
            return;
        };
        let seconds = shared.started.elapsed().as_secs_f64();
        let rate = acked as f64 / seconds.max(0.001);
        let progress = match (total, shared.deadline) {
            (Some(total), _) => format!("{} {sent}/{total}", bar(sent, total)),
            (None, Some(deadline)) => {
                let whole = deadline.duration_since(shared.started).as_millis() as u64;
                let done = shared.started.elapsed().as_millis() as u64;
                format!("{} {sent}", bar(done, whole))
            }
            (None, None) => format!("{sent}"),
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\rloadgen {progress} sent, {acked} acked, {refused} refused, {rate:.0} CE/s ({seconds:.1}s)\x1b[K"
        );
        let _ = err.flush();
    }
}
