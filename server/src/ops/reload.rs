//! Pages without restarts: when the server was configured from a file, it reloads its pages
//! from the same sources (file, `OTN_*`, flags; secrets from their files and variables) when
//! the file changes (checked every two seconds) or on SIGHUP. Every replica watching the same
//! file (a shared ConfigMap, say) picks a change up within seconds. Only `[[pages]]` is
//! reloaded; other settings need a restart, and the log says so.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Env, Overrides};
use crate::service::Deps;

/// How often the file is looked at.
const POLL: Duration = Duration::from_secs(2);

fn fingerprint(path: &std::path::Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// Loads the configuration again and swaps in its pages.
pub(crate) async fn reload(deps: &Deps, from: &Overrides) -> Result<usize, String> {
    let fresh = Config::load(from, &Env::process()).map_err(|e| e.to_string())?;
    let rows: Vec<(String, Option<String>)> = fresh
        .pages
        .iter()
        .map(|p| (p.page_id.clone(), p.region.clone()))
        .collect();
    deps.store()
        .ensure_pages(&rows, deps.now())
        .await
        .map_err(|e| e.to_string())?;
    let n = fresh.pages.iter().filter(|p| p.enabled).count();
    crate::ops::metrics::register_pages(fresh.pages.iter().map(|p| p.page_id.as_str()));
    deps.pages().replace(fresh.pages);
    Ok(n)
}

async fn hangup() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut s) = signal(SignalKind::hangup()) {
            s.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await;
}

/// Watches the configuration file until `shutdown`; nothing when the configuration did not
/// come from a file.
pub(crate) fn spawn(
    deps: Arc<Deps>,
    from: Option<Overrides>,
    shutdown: CancellationToken,
) -> Option<JoinHandle<()>> {
    let from = from?;
    let path = from.config_file.clone()?;
    Some(tokio::spawn(async move {
        let mut seen = fingerprint(&path);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(POLL) => {
                    let now = fingerprint(&path);
                    if now == seen || now.is_none() {
                        continue;
                    }
                    seen = now;
                }
                _ = hangup() => { seen = fingerprint(&path); }
            }
            match reload(&deps, &from).await {
                Ok(n) => tracing::info!(pages = n, path = %path.display(), "pages reloaded"),
                Err(e) => {
                    tracing::warn!(error = %e, "configuration not reloaded; the pages stay as they were")
                }
            }
        }
    }))
}
