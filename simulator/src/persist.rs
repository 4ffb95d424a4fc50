//! Keeping the simulator's people and tokens in a file, so a sandbox's grants stay valid across
//! restarts: loaded at start, written (atomically, at most once a second) after changes, and
//! once more at shutdown.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::Inner;
use super::state::Snapshot;

/// Loads `path` into the world when it exists.
pub(super) fn load(inner: &Inner, path: &Path) -> std::io::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let snapshot: Snapshot = serde_json::from_str(&text).map_err(std::io::Error::other)?;
    inner.world.restore(snapshot);
    Ok(())
}

/// Writes the world to `path` now (through a temporary file, so a crash leaves the old one).
pub(super) fn save(inner: &Inner, path: &Path) {
    let write = || -> std::io::Result<()> {
        let text = serde_json::to_vec(&inner.world.snapshot()).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        tracing::warn!(error = %e, path = %path.display(), "simulator: state not saved");
    }
}

/// Saves the world to `path` a second after changes, and at shutdown.
pub(super) fn spawn(inner: Arc<Inner>, path: PathBuf) {
    tokio::spawn(async move {
        let mut saved = inner.world.changes();
        loop {
            tokio::select! {
                // Shutdown saves once more itself.
                _ = inner.shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            let now = inner.world.changes();
            if now != saved {
                save(&inner, &path);
                saved = now;
            }
        }
    });
}
