//! `otnctl send`: plan (--dry-run), or send and optionally follow to the end with a progress bar or JSON lines.

use std::time::Duration;

use futures::StreamExt;
use otn_sdk::{Client, Error, Progress, proto as pb};

use crate::cli::SendArgs;
use crate::commands::show_notification;
use crate::json;
use crate::output::{self, Bar, Out};

/// How often a followed notification is checked.
const POLL: Duration = Duration::from_millis(200);

fn plan_rows(n: &pb::Notification) -> Vec<Vec<String>> {
    let p = n.plan.clone().unwrap_or_default();
    let mut rows = vec![
        vec!["send".into(), "grant".into(), p.grant_sends.to_string()],
        vec!["send".into(), "window".into(), p.window_sends.to_string()],
        vec!["send".into(), "tag".into(), p.tag_sends.to_string()],
    ];
    for e in &p.exclusions {
        rows.push(vec![
            "exclude".into(),
            json::exclusion(e.reason),
            e.count.to_string(),
        ]);
    }
    rows
}

/// The message of the error `send --wait` ends with when deliveries failed (exit code 7).
const FAILED: &str = "deliveries failed";

/// Whether `e` is the failed-deliveries outcome of `send --wait`.
pub(crate) fn is_failed_deliveries(e: &Error) -> bool {
    matches!(e, Error::Config(m) if m.starts_with(FAILED))
}

pub(crate) async fn run(client: &Client, out: Out, a: SendArgs) -> Result<(), Error> {
    let b = client.notify(a.page, a.topic);
    let mut b = match a.buttons.is_empty() {
        true => b.text(a.text),
        false => b.button_template(a.text, a.buttons),
    };
    if let Some(m) = a.max {
        b = b.max_recipients(m);
    }
    if a.dry_run {
        b = b.dry_run();
    }
    if a.include_window {
        b = b.include_window_recipients();
    }
    if !a.tags.is_empty() {
        b = b.tags_all_of(a.tags);
    }
    if let Some(at) = a.schedule {
        b = b.schedule_at(at);
    }
    if let Some(id) = a.request_id {
        b = b.request_id(id);
    }
    let resp = b.send().await?;
    let n = resp.notification.unwrap_or_default();

    if a.dry_run {
        if out.is_json() {
            out.json(&serde_json::json!({ "dry_run": true, "plan": json::plan(&n.plan) }));
        } else {
            out.line(&format!(
                "plan for {} (dry run, nothing sent):",
                n.topic_key
            ));
            out.table(&["WHAT", "PATH / REASON", "PEOPLE"], &plan_rows(&n));
        }
        return Ok(());
    }

    let wait = a.wait || (!a.no_wait && output::stdout_is_terminal());
    if !wait {
        match out.is_json() {
            true => out.json(&with_replayed(&n, resp.replayed)),
            false => {
                show_notification(out, &n);
                if resp.replayed {
                    out.line("(replayed: this request id was sent before)");
                }
            }
        }
        return Ok(());
    }
    follow(client, out, &n).await
}

fn with_replayed(n: &pb::Notification, replayed: bool) -> serde_json::Value {
    let mut v = json::notification(n);
    v["replayed"] = serde_json::json!(replayed);
    v
}

/// Follows the notification to its end: a bar on a terminal, JSON lines otherwise.
async fn follow(client: &Client, out: Out, n: &pb::Notification) -> Result<(), Error> {
    if !out.is_json() {
        out.line(&format!("notification {}", n.notification_id));
    }
    let planned = n.plan.clone().unwrap_or_default();
    let start = Progress {
        total: u64::try_from(planned.grant_sends + planned.window_sends + planned.tag_sends)
            .unwrap_or(0),
        ..Progress::default()
    };
    let bar = (!out.is_json() && output::stderr_is_terminal()).then(|| Bar::new(&start));
    let mut watch = client.follow_notification(&n.notification_id, POLL);
    let mut last = n.clone();
    while let Some(update) = watch.next().await {
        last = update?;
        let p = Progress::of(&last);
        match (&bar, out.is_json()) {
            (_, true) => out.json(&json::notification(&last)),
            (Some(bar), false) => bar.update(&p),
            (None, false) => {}
        }
    }
    let p = Progress::of(&last);
    if let Some(bar) = &bar {
        bar.finish(&p);
    }
    if !out.is_json() {
        out.line(&format!(
            "{}: {p}",
            json::notification_state(last.state).to_lowercase()
        ));
    }
    match p.failed {
        0 => Ok(()),
        n => Err(Error::Config(format!(
            "{FAILED}: {n} of {} (see `otnctl events tail --notification {}`)",
            p.total, last.notification_id
        ))),
    }
}
