//! Where the database clock's instants fall on this process's monotonic clock: send slots are
//! times on the database clock (shared by every replica), and each pump sleeps until the local
//! instant of its slot.
//!
//! Every claim reads the database clock once, inside a round trip of known length; the reading
//! happened somewhere within that round trip. The estimate keeps the sample of the shortest
//! round trip among the recent ones (as NTP does), so its error is at most half that round trip
//! (well under a millisecond on a healthy network), however slow other claims are. Mapping a
//! slot through the claim's own round trip instead would shift a whole batch of sends by that
//! claim's latency, and two replicas with differently slow claims would crowd a second.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Samples kept; the best of them is used.
const SAMPLES: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Database clock minus local clock, µs.
    offset_us: i64,
    rtt_us: i64,
}

/// The offset estimate of one process.
#[derive(Debug)]
pub(super) struct DbClock {
    origin: Instant,
    samples: Mutex<Vec<Sample>>,
}

impl DbClock {
    pub(super) fn new() -> Self {
        Self {
            origin: Instant::now(),
            samples: Mutex::new(Vec::with_capacity(SAMPLES)),
        }
    }

    fn local_us(&self, t: Instant) -> i64 {
        t.saturating_duration_since(self.origin).as_micros() as i64
    }

    /// Records a database reading `db_us` taken between local instants `before` and `after`.
    pub(super) fn sample(&self, before: Instant, after: Instant, db_us: i64) {
        let (b, a) = (self.local_us(before), self.local_us(after));
        let s = Sample {
            offset_us: db_us - (a + b) / 2,
            rtt_us: (a - b).max(0),
        };
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        if samples.len() == SAMPLES {
            samples.remove(0);
        }
        samples.push(s);
    }

    /// The local instant at which the database clock reads `db_us`; `fallback` (the instant
    /// matching `fallback_db_us`) is used before any sample exists.
    pub(super) fn instant_of(&self, db_us: i64, fallback: Instant, fallback_db_us: i64) -> Instant {
        let best = {
            let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
            samples.iter().min_by_key(|s| s.rtt_us).copied()
        };
        match best {
            Some(s) => {
                let local = db_us - s.offset_us;
                self.origin + Duration::from_micros(local.max(0) as u64)
            }
            None => fallback + Duration::from_micros((db_us - fallback_db_us).max(0) as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortest_round_trip_wins_so_a_slow_claim_does_not_shift_the_slots() {
        let c = DbClock::new();
        let t = c.origin + Duration::from_secs(1);
        // Database clock = local clock + 5 s. A fast claim: read at the midpoint of 1 ms.
        c.sample(t, t + Duration::from_millis(1), 6_000_500);
        // A slow claim: 80 ms round trip, the reading taken right at its start.
        c.sample(
            t + Duration::from_millis(10),
            t + Duration::from_millis(90),
            6_010_000,
        );
        let at = c.instant_of(6_100_000, t, 0);
        assert_eq!(at, c.origin + Duration::from_micros(1_100_000));
    }

    #[test]
    fn without_samples_the_fallback_maps_the_slot() {
        let c = DbClock::new();
        let t = c.origin + Duration::from_secs(2);
        assert_eq!(
            c.instant_of(1_500, t, 1_000),
            t + Duration::from_micros(500)
        );
    }
}
