//! Measuring tools: closed-loop load with latencies, percentiles, process memory and load average.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// The outcome of one measurement: operations, wall time and every latency (sorted).
#[derive(Debug, Default, Clone)]
pub(crate) struct Run {
    pub ops: u64,
    pub elapsed: Duration,
    pub lat: Vec<Duration>,
}

impl Run {
    /// Operations per second.
    pub(crate) fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile of the latencies, in milliseconds.
    pub(crate) fn pct_ms(&self, q: f64) -> f64 {
        pct_ms(&self.lat, q)
    }

    /// Adds another measurement of the same thing (alternating rounds).
    pub(crate) fn merge(&mut self, other: Run) {
        self.ops += other.ops;
        self.elapsed += other.elapsed;
        self.lat.extend(other.lat);
        self.lat.sort_unstable();
    }
}

/// The `q` quantile (nearest rank) of sorted durations, in milliseconds; 0 when empty.
pub(crate) fn pct_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

/// Runs `concurrency` workers that call `op(worker, i)` back to back until `duration` has
/// passed or `max_ops` calls were started. Any failed call fails the measurement.
pub(crate) async fn closed_loop<F, Fut>(
    concurrency: usize,
    duration: Duration,
    max_ops: u64,
    op: F,
) -> Result<Run>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let started = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut joins = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let op = op.clone();
        let started = started.clone();
        joins.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while start.elapsed() < duration {
                let i = started.fetch_add(1, Ordering::Relaxed);
                if i >= max_ops {
                    break;
                }
                let t = Instant::now();
                op(w, i).await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for j in joins {
        lat.extend(j.await.context("load worker panicked")??);
    }
    let elapsed = start.elapsed();
    lat.sort_unstable();
    Ok(Run {
        ops: lat.len() as u64,
        elapsed,
        lat,
    })
}

/// Measures `a` (the baseline) and `b` (the figure) in `rounds` alternating halves, so both
/// see the same machine load; returns (a, b) merged over the rounds.
pub(crate) async fn paired<A, AF, B, BF>(rounds: usize, mut a: A, mut b: B) -> Result<(Run, Run)>
where
    A: FnMut(usize) -> AF,
    AF: Future<Output = Result<Run>>,
    B: FnMut(usize) -> BF,
    BF: Future<Output = Result<Run>>,
{
    let (mut ra, mut rb) = (Run::default(), Run::default());
    for round in 0..rounds.max(1) {
        ra.merge(a(round).await?);
        rb.merge(b(round).await?);
    }
    Ok((ra, rb))
}

/// Resident memory of this process from /proc/self/status, in MB: (VmRSS now, VmHWM peak).
pub(crate) fn memory_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Microseconds since the epoch by the system clock.
pub(crate) fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// CPU time (user + system) this process has used, in seconds (all threads).
pub(crate) fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|v| v.parse::<f64>().unwrap_or(0.0))
        .collect();
    // utime and stime are fields 14 and 15: indexes 11 and 12 here; USER_HZ is 100 on Linux.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// Busy CPU time of the whole machine (every process, all cores), in seconds: `/proc/stat`'s
/// total less idle and iowait.
pub(crate) fn machine_busy_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse::<f64>().unwrap_or(0.0))
        .collect();
    let total: f64 = f.iter().take(8).sum();
    let idle = f.get(3).copied().unwrap_or(0.0) + f.get(4).copied().unwrap_or(0.0);
    (total - idle) / 100.0
}

/// The 1/5/15-minute load average, as `uptime` prints it.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Milliseconds since the epoch by the system clock (the server's clock in this process).
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert!((pct_ms(&v, 0.5) - 50.0).abs() < 1e-9);
        assert!((pct_ms(&v, 0.99) - 99.0).abs() < 1e-9);
        assert!((pct_ms(&v, 1.0) - 100.0).abs() < 1e-9);
        assert!(pct_ms(&[], 0.5).abs() < 1e-9);
    }
}
