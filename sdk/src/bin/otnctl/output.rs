//! Everything otnctl prints: tables and lines for people, JSON for scripts, errors, the progress bar.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use otn_sdk::{Error, Progress, code_name};
use serde_json::Value;

use crate::cli::Output;
use crate::json;

/// Where and how results are printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Out {
    pub format: Output,
}

impl Out {
    pub(crate) fn is_json(&self) -> bool {
        self.format == Output::Json
    }

    /// One JSON value on one line of stdout.
    pub(crate) fn json(&self, v: &Value) {
        println!("{v}");
    }

    /// A line of text on stdout.
    pub(crate) fn line(&self, s: &str) {
        println!("{s}");
    }

    /// Aligned columns on stdout, with a header row.
    pub(crate) fn table(&self, headers: &[&str], rows: &[Vec<String>]) {
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let render = |cells: Vec<String>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            padded.join("  ").trim_end().to_string()
        };
        println!(
            "{}",
            render(headers.iter().map(|h| h.to_string()).collect())
        );
        for row in rows {
            println!("{}", render(row.clone()));
        }
    }

    /// Key/value lines on stdout.
    pub(crate) fn fields(&self, pairs: &[(&str, String)]) {
        let w = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in pairs {
            println!("{:<w$}  {v}", format!("{k}:"), w = w + 1);
        }
    }

    /// An error on stderr: a JSON object with --output json, else a readable block.
    pub(crate) fn error(&self, e: &Error) {
        if self.is_json() {
            eprintln!("{}", json::error(e));
            return;
        }
        let mut head = format!("error: {}", code_name(e.code()));
        if let Some(r) = e.reason_str() {
            head.push_str(&format!(" ({r})"));
        }
        eprintln!("{head}: {}", e.message());
        for v in e.field_violations() {
            eprintln!("  {}: {}", v.field, v.description);
        }
        for (k, v) in e.metadata() {
            eprintln!("  {k} = {v}");
        }
        if let Some(d) = e.retry_delay() {
            eprintln!("  retry after {:.1}s", d.as_secs_f64());
        }
    }
}

/// Whether stdout is a terminal (send waits by default there).
pub(crate) fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Whether stderr is a terminal (the progress bar is drawn only there).
pub(crate) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A progress bar on stderr for one notification's deliveries.
pub(crate) struct Bar(ProgressBar);

impl Bar {
    /// A bar for deliveries that start at `p`; drawn only once it is set up.
    pub(crate) fn new(p: &Progress) -> Bar {
        let bar = ProgressBar::with_draw_target(Some(p.total), ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template("sending [{bar:20}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        let bar = Bar(bar);
        bar.update(p);
        bar.0.set_draw_target(ProgressDrawTarget::stderr());
        bar
    }

    pub(crate) fn update(&self, p: &Progress) {
        self.0.set_message(p.to_string());
        self.0.set_length(p.total);
        self.0.set_position(p.done());
    }

    pub(crate) fn finish(&self, p: &Progress) {
        self.update(p);
        self.0.finish();
        // The finished bar stays on screen; what follows starts on a line of its own.
        eprintln!();
    }
}
