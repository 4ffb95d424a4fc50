//! The bench's UI: progress on stderr, the table on stdout, and the JSON file for machines.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// One figure beside the baseline measured in the same run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Figure {
    pub metric: String,
    pub unit: String,
    pub value: f64,
    pub baseline: f64,
    /// What the baseline is.
    pub baseline_of: String,
    /// `value / baseline`.
    pub ratio: f64,
    /// The target, in words ("—" when none applies).
    pub target: String,
    /// Whether the target is met (`None` when no target applies).
    pub met: Option<bool>,
}

impl Figure {
    /// A figure with no target.
    pub(crate) fn new(
        metric: &str,
        unit: &str,
        value: f64,
        baseline: f64,
        baseline_of: &str,
    ) -> Self {
        Self {
            metric: metric.into(),
            unit: unit.into(),
            value,
            baseline,
            baseline_of: baseline_of.into(),
            ratio: if baseline > 0.0 {
                value / baseline
            } else {
                0.0
            },
            target: "—".into(),
            met: None,
        }
    }

    /// Sets the target and whether it is met.
    pub(crate) fn target(mut self, target: impl Into<String>, met: bool) -> Self {
        self.target = target.into();
        self.met = Some(met);
        self
    }

    /// A target on the ratio: `value ≥ min × baseline`.
    pub(crate) fn min_ratio(self, min: f64) -> Self {
        let met = self.ratio >= min;
        self.target(format!("≥ {min} × baseline"), met)
    }

    /// A target stated but not judged in this run (e.g. it applies to another size).
    pub(crate) fn note_target(mut self, target: impl Into<String>) -> Self {
        self.target = target.into();
        self
    }
}

/// A query plan from EXPLAIN.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Explain {
    pub query: String,
    pub plan: Vec<String>,
    /// An index (or the primary key) is used for the grants access.
    pub uses_index: bool,
    /// Plan lines that read a whole table.
    pub full_scans: Vec<String>,
}

/// Everything one scenario produced.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Scenario {
    pub name: String,
    pub figures: Vec<Figure>,
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explain: Vec<Explain>,
    /// VmRSS right after the scenario (MB).
    pub rss_after_mb: f64,
    /// VmHWM right after the scenario: the peak of the whole process so far (MB).
    pub peak_so_far_mb: f64,
    /// Stream scenario: events some subscriber did not get (or got out of order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed_events: Option<u64>,
    pub seconds: f64,
}

impl Scenario {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            ..Default::default()
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub backend: String,
    pub size: String,
    pub cpus: usize,
    pub load_before: String,
    pub load_after: String,
    pub seconds: f64,
    pub scenarios: Vec<Scenario>,
}

/// A progress line (stderr, so the table on stdout stays clean).
pub(crate) fn progress(msg: &str) {
    eprintln!("otn-bench: {msg}");
}

/// The header of the run.
pub(crate) fn header(backend: &str, size: &str, load: &str) {
    println!(
        "otn-bench: backend {backend}, size {size}, {} CPUs, load average before {load}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("every figure is measured beside its baseline in this run, on this machine");
}

fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Prints one scenario: its table rows, EXPLAIN plans and notes.
pub(crate) fn scenario(s: &Scenario) {
    println!();
    println!(
        "== {} ({:.1} s; RSS after {:.0} MB, peak so far {:.0} MB)",
        s.name, s.seconds, s.rss_after_mb, s.peak_so_far_mb
    );
    println!(
        "{:<44} {:>10} {:>10} {:<24} {:>6} {:<28} {:<5}",
        "figure", "value", "baseline", "baseline is", "ratio", "target", "met?"
    );
    for f in &s.figures {
        let met = match f.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "—",
        };
        println!(
            "{:<44} {:>10} {:>10} {:<24} {:>6.2} {:<28} {:<5}",
            format!("{} [{}]", f.metric, f.unit),
            num(f.value),
            num(f.baseline),
            f.baseline_of,
            f.ratio,
            f.target,
            met
        );
    }
    for e in &s.explain {
        println!("-- plan of {} (index used: {}):", e.query, e.uses_index);
        for line in &e.plan {
            println!("   {line}");
        }
        if !e.full_scans.is_empty() {
            println!("   full scans: {}", e.full_scans.join(" | "));
        }
    }
    if let Some(m) = s.missed_events {
        println!("missed or out-of-order events over all subscribers: {m}");
    }
    for n in &s.notes {
        println!("note: {n}");
    }
}

/// The closing summary: every missed target, and the load average after.
pub(crate) fn summary(r: &Report) {
    println!();
    println!(
        "== done in {:.0} s; load average before {} / after {}",
        r.seconds, r.load_before, r.load_after
    );
    let missed: Vec<String> = r
        .scenarios
        .iter()
        .flat_map(|s| {
            s.figures
                .iter()
                .filter(|f| f.met == Some(false))
                .map(move |f| {
                    format!(
                        "{}: {} (ratio {:.2}, target {})",
                        s.name, f.metric, f.ratio, f.target
                    )
                })
        })
        .collect();
    if missed.is_empty() {
        println!("every judged target was met");
    } else {
        println!("targets missed:");
        for m in missed {
            println!("  {m}");
        }
    }
}

/// Writes the report as JSON.
pub(crate) fn write_json(path: &Path, r: &Report) -> Result<()> {
    let text = serde_json::to_string_pretty(r)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
