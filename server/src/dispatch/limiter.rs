//! A per-page pacing limiter: Send API calls are spaced evenly at the page's rate.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use tokio::time::Instant;

/// Spaces calls `1/rate` apart.
#[derive(Debug)]
pub(crate) struct Limiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Limiter {
    /// A limiter of `per_sec` calls per second.
    pub(crate) fn new(per_sec: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_sec.max(1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this call's slot.
    pub(crate) async fn acquire(&self) {
        let slot = {
            let mut next = match self.next.lock() {
                Ok(n) => n,
                Err(poisoned) => poisoned.into_inner(),
            };
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// One limiter per page.
#[derive(Debug, Default)]
pub(crate) struct Limiters(HashMap<String, Limiter>);

impl Limiters {
    /// Limiters for `(page, rate)` pairs.
    pub(crate) fn new(pages: impl IntoIterator<Item = (String, u32)>) -> Self {
        Self(
            pages
                .into_iter()
                .map(|(p, r)| (p, Limiter::new(r)))
                .collect(),
        )
    }

    /// The page's limiter (None for an unknown page).
    pub(crate) fn get(&self, page_id: &str) -> Option<&Limiter> {
        self.0.get(page_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_are_spaced_at_the_page_rate() {
        let l = Limiter::new(100);
        let start = Instant::now();
        for _ in 0..51 {
            l.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(500));
    }
}
