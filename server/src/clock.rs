//! Wall-clock time behind a trait, so tests can pause and advance it.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, Duration, TimeZone, Utc};

/// A source of the current time, in epoch milliseconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in epoch milliseconds.
    fn now_ms(&self) -> i64;

    /// Now, as a UTC date-time.
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.now_ms())
            .single()
            .unwrap_or_default()
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis()
    }
}

/// A clock that runs at real speed from an offset that tests move forward. `pause` freezes it.
#[derive(Debug, Default)]
pub struct ManualClock {
    offset_ms: AtomicI64,
    frozen_at: AtomicI64,
}

impl ManualClock {
    /// A clock that starts at the real time and runs.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A clock frozen at `at` until advanced.
    pub fn frozen(at: DateTime<Utc>) -> Arc<Self> {
        let c = Self::default();
        c.frozen_at.store(at.timestamp_millis(), Ordering::SeqCst);
        Arc::new(c)
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = by.num_milliseconds();
        if self.frozen_at.load(Ordering::SeqCst) != 0 {
            self.frozen_at.fetch_add(ms, Ordering::SeqCst);
        } else {
            self.offset_ms.fetch_add(ms, Ordering::SeqCst);
        }
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        match self.frozen_at.load(Ordering::SeqCst) {
            0 => Utc::now().timestamp_millis() + self.offset_ms.load(Ordering::SeqCst),
            frozen => frozen,
        }
    }
}

/// Converts epoch milliseconds to a UTC date-time.
pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}
