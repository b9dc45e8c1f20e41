//! `--report-server-cpu PID`: the CPU time (user + system, every thread)
//! the server spent, read from `/proc/PID/stat` (Linux). The server keeps
//! working after the last acknowledgement (the windower writes what the
//! gateway published), so the total is read once it is idle again.

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

#[derive(Debug, Clone, Serialize)]
pub struct ServerCpu {
    pub pid: u32,
    /// CPU seconds from the first send to the last acknowledgement.
    pub cpu_seconds_while_sending: f64,
    /// CPU seconds from the first send until the server was idle again.
    pub cpu_seconds_total: f64,
    /// `cpu_seconds_total` per acknowledged CE, in microseconds.
    pub cpu_us_per_acked_ce: f64,
    /// How long after the last acknowledgement the server went idle.
    pub settled_after_seconds: f64,
}

/// Waits until `pid` is idle; returns its ticks then.
pub async fn ticks_when_idle(pid: u32) -> anyhow::Result<u64> {
    let started = Instant::now();
    let mut last = ticks(pid)?;
    let mut quiet = 0;
    while quiet < 2 && started.elapsed() < MAX_IDLE_WAIT {
        tokio::time::sleep(IDLE_INTERVAL).await;
        let now = ticks(pid)?;
        quiet = if now - last <= IDLE_TICKS { quiet + 1 } else { 0 };
        last = now;
    }
    Ok(last)
}

pub fn report(pid: u32, (start, at_last_ack, idle): (u64, u64, u64), acked: u64, settled: Duration) -> ServerCpu {
    let seconds = |ticks: u64| ticks as f64 / TICKS_PER_SECOND;
    let total = seconds(idle.saturating_sub(start));
    ServerCpu {
        pid,
        cpu_seconds_while_sending: seconds(at_last_ack.saturating_sub(start)),
        cpu_seconds_total: total,
        cpu_us_per_acked_ce: if acked == 0 { 0.0 } else { total * 1e6 / acked as f64 },
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

    #[test]
    fn per_ce_figure_uses_the_total() {
        let cpu = report(1, (100, 300, 500), 1_000_000, Duration::from_secs(2));
        assert_eq!((cpu.cpu_seconds_while_sending, cpu.cpu_seconds_total), (2.0, 4.0));
        assert!((cpu.cpu_us_per_acked_ce - 4.0).abs() < 1e-9);
    }
}
