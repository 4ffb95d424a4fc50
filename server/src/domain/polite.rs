//! Politeness: how often one person may be messaged (a frequency cap over a rolling window,
//! across topics and notifications) and when (never inside their quiet hours, in their own
//! time zone). Pure: the planner asks it when it queues a delivery, the claim asks it again
//! when the delivery is due, and both write down what it answered (a not-before time and the
//! rule that set it).

use serde::{Deserialize, Serialize};

use super::vocab::{DeliveryPath, ExclusionReason};

/// At most `max` notifications per person in any `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FrequencyCap {
    pub(crate) max: u32,
    pub(crate) window_ms: i64,
}

impl FrequencyCap {
    /// The rule a decision under this cap records, e.g. `polite.frequency_cap.3/86400s`.
    pub(crate) fn rule(&self) -> String {
        format!(
            "polite.frequency_cap.{}/{}s",
            self.max,
            self.window_ms / 1000
        )
    }

    /// The earliest time at or after `at_ms` when one more notification keeps the person within
    /// the cap, given the times of the notifications they were (or will be) sent: after every
    /// one of them, the window holding fewer than `max` (first come, first sent).
    pub(crate) fn free_at(&self, times: &[i64], at_ms: i64) -> i64 {
        let max = self.max as usize;
        if max == 0 || times.len() < max {
            return at_ms;
        }
        let mut sorted = times.to_vec();
        sorted.sort_unstable();
        Ord::max(at_ms, sorted[sorted.len() - max] + self.window_ms)
    }
}

/// A daily quiet window in local time, `[start, end)` in minutes of the day; it wraps past
/// midnight when `end < start` (21:00–08:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct QuietHours {
    pub(crate) start_min: u16,
    pub(crate) end_min: u16,
}

fn hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM` (24-hour clock; the two ends differ).
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a quiet window like 21:00-08:00");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let (start_min, end_min) = (hhmm(a).ok_or_else(bad)?, hhmm(b).ok_or_else(bad)?);
        if start_min == end_min {
            return Err(format!(
                "quiet hours `{s}` start and end at the same minute"
            ));
        }
        Ok(Self { start_min, end_min })
    }

    /// `HH:MM` of a minute of the day.
    pub(crate) fn clock(min: u16) -> String {
        format!("{:02}:{:02}", min / 60, min % 60)
    }

    /// `21:00-08:00`.
    pub(crate) fn label(&self) -> String {
        format!(
            "{}-{}",
            Self::clock(self.start_min),
            Self::clock(self.end_min)
        )
    }

    fn inside(&self, min: u16) -> bool {
        match self.start_min < self.end_min {
            true => (self.start_min..self.end_min).contains(&min),
            false => min >= self.start_min || min < self.end_min,
        }
    }

    /// When `at_ms` falls inside the window in `zone`, the instant the window ends there (the
    /// first instant at or after the local end time, so a DST gap moves it later, never
    /// earlier); `None` outside it.
    pub(crate) fn end_after(&self, zone: &jiff::tz::TimeZone, at_ms: i64) -> Option<i64> {
        let ts = jiff::Timestamp::from_millisecond(at_ms).ok()?;
        let local = ts.to_zoned(zone.clone());
        let min = (local.hour() as u16) * 60 + local.minute() as u16;
        if !self.inside(min) {
            return None;
        }
        let mut day = local.date();
        if self.end_min <= min {
            day = day.tomorrow().ok()?;
        }
        let end = day.at((self.end_min / 60) as i8, (self.end_min % 60) as i8, 0, 0);
        let zoned = zone.to_ambiguous_zoned(end).later().ok()?;
        Some(Ord::max(zoned.timestamp().as_millisecond(), at_ms))
    }
}

/// An IANA time zone by name (`Europe/Berlin`), from the tz database built into the server.
pub(crate) fn zone(name: &str) -> Option<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name).ok()
}

/// Whether `name` is an IANA time zone the server knows.
pub(crate) fn known_zone(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && zone(name).is_some()
}

/// What a send observes, resolved when it is made (the page's configuration with the send's
/// overrides) and kept with the notification, so every replica and every later claim applies
/// the same rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Polite {
    /// The frequency cap, if any.
    pub(crate) cap: Option<FrequencyCap>,
    /// Leave people over the cap out (grant kept) instead of deferring them.
    #[serde(default)]
    pub(crate) exclude_over_cap: bool,
    /// The quiet window, unless the page has none or the send opted out.
    #[serde(default)]
    pub(crate) quiet: Option<QuietHours>,
    /// The send opted out of quiet hours (a time-critical alert).
    #[serde(default)]
    pub(crate) quiet_ignored: bool,
    /// The page's zone, for people whose own zone is unknown.
    #[serde(default)]
    pub(crate) page_zone: Option<String>,
}

/// Why a delivery waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Deferral {
    /// The person is at their frequency cap.
    FrequencyCap,
    /// It is night where the person is.
    QuietHours,
}

/// A delivery held back until `until_ms`, by the rule `rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Deferred {
    pub(crate) until_ms: i64,
    pub(crate) why: Deferral,
    pub(crate) rule: String,
}

/// What the gate says of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Send when due.
    Now,
    /// Not before this.
    Defer(Deferred),
    /// Leave the person out, for this reason (their grant is not reserved).
    Exclude(ExclusionReason),
}

impl Polite {
    /// Whether this send has anything to check.
    pub(crate) fn active(&self) -> bool {
        self.cap.is_some() || self.quiet.is_some()
    }

    /// The zone whose night a person's deliveries keep: the person's own (UpdateRecipient, else
    /// their Marketing Messages opt-in), else the page's; none when quiet hours do not apply.
    pub(crate) fn quiet_zone(&self, person_zone: Option<&str>) -> Option<String> {
        self.quiet?;
        person_zone
            .filter(|z| known_zone(z))
            .or(self.page_zone.as_deref())
            .map(str::to_string)
    }

    /// When a delivery due at `at_ms` may go: after the cap lets one more notification through
    /// (`times`: the person's notifications sent or due), then out of the quiet hours of
    /// `zone`. The first rule that holds it back is the one recorded.
    pub(crate) fn not_before(&self, zone: Option<&str>, times: &[i64], at_ms: i64) -> Gate {
        let mut t = at_ms;
        let mut first: Option<(Deferral, String)> = None;
        if let Some(cap) = self.cap {
            let free = cap.free_at(times, t);
            if free > t {
                t = free;
                first = Some((Deferral::FrequencyCap, cap.rule()));
            }
        }
        if let (Some(q), Some(z)) = (self.quiet, zone)
            && let Some(tz) = self::zone(z)
            && let Some(end) = q.end_after(&tz, t)
        {
            t = end;
            first.get_or_insert((
                Deferral::QuietHours,
                format!("polite.quiet_hours.{}@{z}", q.label()),
            ));
        }
        match first {
            None => Gate::Now,
            Some((why, rule)) => Gate::Defer(Deferred {
                until_ms: t,
                why,
                rule,
            }),
        }
    }

    /// The planner's gate for one person the engine decided to send to by `path`: deferred, or
    /// excluded when the send says so (over the cap) or when the path would not hold at the
    /// deferred time (a 24-hour window closing before it: `window_closes_ms`).
    pub(crate) fn plan(
        &self,
        path: DeliveryPath,
        zone: Option<&str>,
        times: &[i64],
        at_ms: i64,
        window_closes_ms: Option<i64>,
    ) -> Gate {
        let gate = self.not_before(zone, times, at_ms);
        let Gate::Defer(d) = &gate else {
            return gate;
        };
        let reason = match d.why {
            Deferral::FrequencyCap => ExclusionReason::FrequencyCap,
            Deferral::QuietHours => ExclusionReason::QuietHours,
        };
        if d.why == Deferral::FrequencyCap && self.exclude_over_cap {
            return Gate::Exclude(reason);
        }
        if path == DeliveryPath::Window && window_closes_ms.is_none_or(|c| c <= d.until_ms) {
            return Gate::Exclude(reason);
        }
        gate
    }
}

/// The pause reason of a tripped circuit breaker (lifted by an operator's ResumePage).
pub(crate) const BREAKER_PAUSE: &str = "negative_feedback";

/// A negative signal the circuit breaker counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// A person stopped a page's marketing messages (`STOP NOTIFICATIONS`).
    Stop,
    /// Meta refused a send because the person blocked the page or cannot be reached by it
    /// (551, 200/1545041).
    Block,
    /// Meta's `policy_enforcement` block of the page.
    PolicyEnforcement,
}

impl Signal {
    /// Its stored code.
    pub(crate) fn code(self) -> i32 {
        match self {
            Signal::Stop => 1,
            Signal::Block => 2,
            Signal::PolicyEnforcement => 3,
        }
    }

    /// Its metric label.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Stop => "stop",
            Signal::Block => "block",
            Signal::PolicyEnforcement => "policy_enforcement",
        }
    }

    /// The signal a Send API refusal with Meta's `(code, subcode)` is, if any.
    pub(crate) fn of_refusal(code: i32, subcode: i32) -> Option<Signal> {
        matches!((code, subcode), (551, _) | (200, 1_545_041)).then_some(Signal::Block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    /// 2026-12-07T12:00:00Z.
    const NOON_UTC: i64 = 1_796_644_800_000;

    fn cap(max: u32, hours: i64) -> Polite {
        Polite {
            cap: Some(FrequencyCap {
                max,
                window_ms: hours * H,
            }),
            ..Default::default()
        }
    }

    fn quiet(s: &str, page_zone: Option<&str>) -> Polite {
        Polite {
            quiet: Some(QuietHours::parse(s).unwrap()),
            page_zone: page_zone.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn under_the_cap_a_send_goes_now_and_at_it_waits_for_the_oldest_to_leave_the_window() {
        let p = cap(2, 24);
        assert_eq!(p.not_before(None, &[NOON_UTC - H], NOON_UTC), Gate::Now);
        let Gate::Defer(d) = p.not_before(None, &[NOON_UTC - H, NOON_UTC - 3 * H], NOON_UTC) else {
            panic!("deferred");
        };
        assert_eq!(d.until_ms, NOON_UTC - 3 * H + 24 * H);
        assert_eq!(d.why, Deferral::FrequencyCap);
        assert_eq!(d.rule, "polite.frequency_cap.2/86400s");
        // A send already queued for later counts too: the next one goes after it.
        let Gate::Defer(d) = cap(1, 1).not_before(None, &[NOON_UTC + 5 * H], NOON_UTC) else {
            panic!("deferred");
        };
        assert_eq!(d.until_ms, NOON_UTC + 6 * H);
        // Sends that left the window do not count.
        assert_eq!(
            cap(1, 1).not_before(None, &[NOON_UTC - H], NOON_UTC),
            Gate::Now
        );
    }

    #[test]
    fn quiet_hours_are_the_persons_night_and_end_at_their_morning() {
        let p = quiet("21:00-08:00", None);
        // 12:00 UTC is 21:00 in Tokyo (inside), 13:00 in Berlin (outside).
        let Gate::Defer(d) = p.not_before(Some("Asia/Tokyo"), &[], NOON_UTC) else {
            panic!("deferred in Tokyo");
        };
        // 08:00 the next morning in Tokyo = 23:00 UTC the same day.
        assert_eq!(d.until_ms, NOON_UTC + 11 * H);
        assert_eq!(d.rule, "polite.quiet_hours.21:00-08:00@Asia/Tokyo");
        assert_eq!(
            p.not_before(Some("Europe/Berlin"), &[], NOON_UTC),
            Gate::Now
        );
        // No zone: nothing to hold to.
        assert_eq!(p.not_before(None, &[], NOON_UTC), Gate::Now);
        // Just after midnight in New York (05:30 UTC = 00:30 EST) ends at 08:00 the same day.
        let t = NOON_UTC - 6 * H - 30 * 60_000;
        let Gate::Defer(d) = p.not_before(Some("America/New_York"), &[], t) else {
            panic!("deferred in New York");
        };
        assert_eq!(d.until_ms, NOON_UTC + H);
        // A window that does not wrap midnight.
        let day = quiet("12:00-14:00", None);
        let Gate::Defer(d) = day.not_before(Some("UTC"), &[], NOON_UTC + H) else {
            panic!("inside");
        };
        assert_eq!(d.until_ms, NOON_UTC + 2 * H);
        assert_eq!(
            day.not_before(Some("UTC"), &[], NOON_UTC + 2 * H),
            Gate::Now
        );
    }

    #[test]
    fn a_cap_that_lands_in_the_night_waits_for_the_morning_and_records_the_cap() {
        let mut p = cap(1, 10);
        p.quiet = Some(QuietHours::parse("21:00-08:00").unwrap());
        // Sent at 12:00 UTC; free at 22:00 UTC, inside the night in UTC: 08:00 next day.
        let Gate::Defer(d) = p.not_before(Some("UTC"), &[NOON_UTC], NOON_UTC + 60_000) else {
            panic!("deferred");
        };
        assert_eq!(d.until_ms, NOON_UTC + 20 * H);
        assert_eq!(d.why, Deferral::FrequencyCap);
    }

    #[test]
    fn the_planner_excludes_when_the_send_says_so_or_the_window_would_close() {
        let mut p = cap(1, 24);
        let times = [NOON_UTC - H];
        assert!(matches!(
            p.plan(DeliveryPath::Grant, None, &times, NOON_UTC, None),
            Gate::Defer(_)
        ));
        assert_eq!(
            p.plan(
                DeliveryPath::Window,
                None,
                &times,
                NOON_UTC,
                Some(NOON_UTC + H)
            ),
            Gate::Exclude(ExclusionReason::FrequencyCap)
        );
        p.exclude_over_cap = true;
        assert_eq!(
            p.plan(DeliveryPath::Grant, None, &times, NOON_UTC, None),
            Gate::Exclude(ExclusionReason::FrequencyCap)
        );
    }

    #[test]
    fn blocks_are_the_refusals_of_a_person_who_blocked_the_page() {
        assert_eq!(Signal::of_refusal(551, 0), Some(Signal::Block));
        assert_eq!(Signal::of_refusal(200, 1_545_041), Some(Signal::Block));
        assert_eq!(Signal::of_refusal(200, 0), None);
        assert_eq!(
            Signal::of_refusal(10, 2_018_108),
            None,
            "not available now is not a block"
        );
        assert_eq!(
            Signal::of_refusal(10, 1_893_015),
            None,
            "a stopped token is its STOP"
        );
    }

    #[test]
    fn quiet_windows_parse_and_refuse_nonsense() {
        let q = QuietHours::parse("21:00-08:00").unwrap();
        assert_eq!((q.start_min, q.end_min), (21 * 60, 8 * 60));
        assert_eq!(q.label(), "21:00-08:00");
        for bad in [
            "",
            "21-08",
            "25:00-08:00",
            "21:00-21:00",
            "9:00-10:00",
            "21:00",
        ] {
            assert!(QuietHours::parse(bad).is_err(), "{bad}");
        }
        assert!(known_zone("Europe/Berlin") && !known_zone("Mars/Olympus") && !known_zone(""));
    }

    #[test]
    fn the_persons_zone_comes_first_then_the_pages() {
        let p = quiet("21:00-08:00", Some("Europe/Paris"));
        assert_eq!(
            p.quiet_zone(Some("Asia/Tokyo")).as_deref(),
            Some("Asia/Tokyo")
        );
        assert_eq!(p.quiet_zone(None).as_deref(), Some("Europe/Paris"));
        assert_eq!(
            p.quiet_zone(Some("Nowhere/Land")).as_deref(),
            Some("Europe/Paris")
        );
        assert_eq!(quiet("21:00-08:00", None).quiet_zone(None), None);
        assert_eq!(Polite::default().quiet_zone(Some("Asia/Tokyo")), None);
    }
}
