//! `--report-server-cpu PID`: the CPU time (user + system, every thread)
//! the server spent, read from `/proc/PID/stat` (Linux), and its share by
//! thread name from `/proc/PID/task`. The server keeps working after the
//! last acknowledgement (the windower writes what the gateway published),
//! so the total is read once it is idle again.
//!
//! In `standalone` the names split the pipeline: `causeway-window` (Linux
//! keeps 15 characters of a name) is the windower's loop,
//! `causeway-bus-wr` the embedded bus's writer, and `tokio-rt-worker` the
//! runtime's workers and blocking pool, where the gateway decodes, encodes
//! and answers. The gateway alone is the last two.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

/// `/proc` counts in clock ticks of `USER_HZ`, 100 on every Linux target.
const TICKS_PER_SECOND: f64 = 100.0;
/// Idle: at most one tick (10 ms) of CPU in each of two consecutive intervals.
const IDLE_INTERVAL: Duration = Duration::from_millis(500);
const IDLE_TICKS: u64 = 1;
const MAX_IDLE_WAIT: Duration = Duration::from_secs(120);

/// utime + stime of `pid`, in ticks.
pub fn ticks(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path} (--report-server-cpu)"))?;
    parse_ticks(&text).with_context(|| format!("unexpected contents of {path}"))
}

/// Fields 14 and 15 of `/proc/PID/stat`; the command name (field 2) may
/// hold spaces and parentheses, so counting starts after its last `)`.
fn parse_ticks(stat: &str) -> anyhow::Result<u64> {
    let Some((_, rest)) = stat.rsplit_once(')') else {
        bail!("no command name")
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15.
    let field = |n: usize| -> anyhow::Result<u64> {
        let text = fields.get(n - 3).with_context(|| format!("field {n} missing"))?;
        text.parse().with_context(|| format!("field {n} is {text:?}"))
    };
    Ok(field(14)? + field(15)?)
}

/// utime + stime of each live thread of `pid`, in ticks, summed by thread
/// name. A thread that ended is missing (its time is in [`ticks`]).
pub fn ticks_by_thread(pid: u32) -> anyhow::Result<BTreeMap<String, u64>> {
    let dir = format!("/proc/{pid}/task");
    let mut by_name = BTreeMap::new();
    for task in std::fs::read_dir(&dir).with_context(|| format!("reading {dir} (--report-server-cpu)"))? {
        let path = task.with_context(|| format!("reading {dir}"))?.path();
        // A thread may end between the listing and these reads.
        let (Ok(name), Ok(stat)) = (
            std::fs::read_to_string(path.join("comm")),
            std::fs::read_to_string(path.join("stat")),
        ) else {
            continue;
        };
        let ticks = parse_ticks(&stat).with_context(|| format!("unexpected contents of {}", path.display()))?;
        *by_name.entry(name.trim_end().to_owned()).or_default() += ticks;
    }
    Ok(by_name)
}

/// The server's ticks, in all and by thread name, at one moment.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub total: u64,
    pub by_thread: BTreeMap<String, u64>,
}

pub fn sample(pid: u32) -> anyhow::Result<Sample> {
    Ok(Sample {
        total: ticks(pid)?,
        by_thread: ticks_by_thread(pid)?,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerCpu {
    pub pid: u32,
    /// CPU seconds from the first send to the last acknowledgement.
    pub cpu_seconds_while_sending: f64,
    /// CPU seconds from the first send until the server was idle again.
    pub cpu_seconds_total: f64,
    /// `cpu_seconds_total` per acknowledged CE, in microseconds.
    pub cpu_us_per_acked_ce: f64,
    /// The same by thread name (module docs), for threads alive at the end.
    pub cpu_us_per_acked_ce_by_thread: BTreeMap<String, f64>,
    /// How long after the last acknowledgement the server went idle.
    pub settled_after_seconds: f64,
}

/// Waits until `pid` is idle; returns its ticks then.
pub async fn when_idle(pid: u32) -> anyhow::Result<Sample> {
    let started = Instant::now();
    let mut last = ticks(pid)?;
    let mut quiet = 0;
    while quiet < 2 && started.elapsed() < MAX_IDLE_WAIT {
        tokio::time::sleep(IDLE_INTERVAL).await;
        let now = ticks(pid)?;
        quiet = if now - last <= IDLE_TICKS { quiet + 1 } else { 0 };
        last = now;
    }
    Ok(Sample {
        total: last,
        by_thread: ticks_by_thread(pid)?,
    })
}

pub fn report(
    pid: u32,
    (start, at_last_ack, idle): (&Sample, u64, &Sample),
    acked: u64,
    settled: Duration,
) -> ServerCpu {
    let seconds = |ticks: u64| ticks as f64 / TICKS_PER_SECOND;
    let per_ce = |ticks: u64| {
        if acked == 0 {
            0.0
        } else {
            seconds(ticks) * 1e6 / acked as f64
        }
    };
    let by_thread = idle
        .by_thread
        .iter()
        .map(|(name, ticks)| {
            let before = start.by_thread.get(name).copied().unwrap_or(0);
            (name.clone(), per_ce(ticks.saturating_sub(before)))
        })
        .collect();
    ServerCpu {
        pid,
        cpu_seconds_while_sending: seconds(at_last_ack.saturating_sub(start.total)),
        cpu_seconds_total: seconds(idle.total.saturating_sub(start.total)),
        cpu_us_per_acked_ce: per_ce(idle.total.saturating_sub(start.total)),
        cpu_us_per_acked_ce_by_thread: by_thread,
        settled_after_seconds: settled.as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utime_and_stime_past_an_awkward_command_name() {
        let stat = "4242 (causeway (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_ticks(stat).expect("parses"), 325);
        assert!(parse_ticks("4242 causeway").is_err());
        assert!(parse_ticks("1 (x) S 1").is_err());
        let own = ticks(std::process::id()).expect("own /proc entry");
        assert!(own < u64::MAX);
    }

    fn at(total: u64, threads: &[(&str, u64)]) -> Sample {
        Sample {
            total,
            by_thread: threads
                .iter()
                .map(|(name, ticks)| ((*name).to_owned(), *ticks))
                .collect(),
        }
    }

    #[test]
    fn per_ce_figure_uses_the_total_and_splits_it_by_thread() {
        let start = at(100, &[("worker", 60), ("writer", 40)]);
        let idle = at(500, &[("worker", 260), ("writer", 140), ("late", 100)]);
        let cpu = report(1, (&start, 300, &idle), 1_000_000, Duration::from_secs(2));
        assert_eq!((cpu.cpu_seconds_while_sending, cpu.cpu_seconds_total), (2.0, 4.0));
        assert!((cpu.cpu_us_per_acked_ce - 4.0).abs() < 1e-9);
        let split: Vec<(&str, f64)> = cpu
            .cpu_us_per_acked_ce_by_thread
            .iter()
            .map(|(name, us)| (name.as_str(), *us))
            .collect();
        assert_eq!(split, vec![("late", 1.0), ("worker", 2.0), ("writer", 1.0)]);
    }

    #[test]
    fn reads_this_process_threads_by_name() {
        // The thread is named before it runs: once it reaches the barrier,
        // its name is in /proc.
        let started = std::sync::Arc::new(std::sync::Barrier::new(2));
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("cpu-probe".to_owned())
            .spawn({
                let started = std::sync::Arc::clone(&started);
                move || {
                    started.wait();
                    let _ = stopped.recv();
                }
            })
            .expect("thread starts");
        started.wait();
        let threads = ticks_by_thread(std::process::id()).expect("own /proc entry");
        drop(stop);
        thread.join().expect("thread ends");
        assert!(threads.contains_key("cpu-probe"), "{threads:?}");
    }
}
