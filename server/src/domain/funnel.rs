//! The consent funnel: which steps an event counts toward, the counts of a topic or a
//! notification over UTC days, and the rates between steps. The counts are kept by the store in
//! maintained aggregates (`store/funnel.rs`), updated by the transaction that appends the events,
//! so a read never walks the log.

use std::collections::BTreeMap;

use super::event::NewEvent;
use super::vocab::{EventKind, InteractionKind};

/// One UTC day, in milliseconds.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// The longest range of days one funnel read covers.
pub(crate) const MAX_DAYS: i64 = 366;

/// The UTC day (days since 1970-01-01) of an epoch-millisecond time.
pub(crate) fn day_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(DAY_MS)
}

/// A counted step of the funnel (or a side count beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum FunnelStep {
    /// An opt-in request reached the person (Meta accepted it).
    OptInRequested,
    /// A person opted in: a grant was recorded (or assigned to the topic).
    OptedIn,
    /// A grant was spent by a send.
    GrantUsed,
    /// A delivery was queued.
    Queued,
    /// Meta accepted a message.
    Sent,
    /// A message reached the device (a read implies it when no delivery receipt came).
    Delivered,
    /// A message was read.
    Read,
    /// A delivery was engaged with, in any way (counted once per delivery).
    Engaged,
    /// The person wrote to the page after the delivery (attributed to the latest one).
    EngagedMessage,
    /// The person tapped a postback button after the delivery.
    EngagedPostback,
    /// The person opened a tracked `web_url` button of the delivery (once per delivery).
    Clicked,
    /// A delivery failed.
    Failed,
    /// A delivery was given up with its outcome unknown.
    Unconfirmed,
    /// A delivery was cancelled before it was sent.
    Cancelled,
    /// A grant expired unused.
    GrantExpired,
    /// A person stopped a grant.
    GrantStopped,
    /// A person resumed a stopped grant.
    GrantResumed,
    /// The business revoked a grant.
    GrantRevoked,
}

impl FunnelStep {
    /// Every step, in declaration order (the index of a step is its position).
    pub(crate) const ALL: [FunnelStep; 18] = [
        FunnelStep::OptInRequested,
        FunnelStep::OptedIn,
        FunnelStep::GrantUsed,
        FunnelStep::Queued,
        FunnelStep::Sent,
        FunnelStep::Delivered,
        FunnelStep::Read,
        FunnelStep::Engaged,
        FunnelStep::EngagedMessage,
        FunnelStep::EngagedPostback,
        FunnelStep::Clicked,
        FunnelStep::Failed,
        FunnelStep::Unconfirmed,
        FunnelStep::Cancelled,
        FunnelStep::GrantExpired,
        FunnelStep::GrantStopped,
        FunnelStep::GrantResumed,
        FunnelStep::GrantRevoked,
    ];
}

/// What an event implies for the funnel beyond its kind: set where the event is made, from the
/// row it changes, never stored (the aggregates are counted as the event is appended).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Implied {
    /// A READ of a delivery that had no delivery receipt: it was delivered too.
    pub(crate) delivered: bool,
    /// The first engagement (message, postback or click) of its delivery.
    pub(crate) first_engagement: bool,
}

/// The steps `ev` counts toward (none for an event about no topic).
pub(crate) fn steps_of(ev: &NewEvent) -> Vec<FunnelStep> {
    use FunnelStep as S;
    if ev.topic_key.is_none() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(3);
    match ev.kind {
        EventKind::OptInRequested => out.push(S::OptInRequested),
        EventKind::OptInRecorded | EventKind::GrantAssigned => out.push(S::OptedIn),
        EventKind::GrantConsumed => out.push(S::GrantUsed),
        EventKind::Queued => out.push(S::Queued),
        EventKind::Sent => out.push(S::Sent),
        EventKind::Delivered => out.push(S::Delivered),
        EventKind::Read => {
            if ev.implied.delivered {
                out.push(S::Delivered);
            }
            out.push(S::Read);
        }
        EventKind::Engaged => out.push(match ev.interaction {
            Some(InteractionKind::Postback) => S::EngagedPostback,
            _ => S::EngagedMessage,
        }),
        EventKind::Clicked => out.push(S::Clicked),
        EventKind::Failed => out.push(S::Failed),
        EventKind::Unconfirmed => out.push(S::Unconfirmed),
        EventKind::Cancelled => out.push(S::Cancelled),
        EventKind::GrantExpired => out.push(S::GrantExpired),
        EventKind::GrantStopped => out.push(S::GrantStopped),
        EventKind::GrantResumed => out.push(S::GrantResumed),
        EventKind::GrantRevoked => out.push(S::GrantRevoked),
        EventKind::RetryScheduled | EventKind::RecipientForgotten | EventKind::Deferred => {}
    }
    if ev.implied.first_engagement && matches!(ev.kind, EventKind::Engaged | EventKind::Clicked) {
        out.push(S::Engaged);
    }
    out
}

/// Where a count is kept: a page's topic on a day, over all of it (`notification_id` empty) or
/// for one notification.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TallyKey {
    pub(crate) page_id: String,
    pub(crate) topic_key: String,
    pub(crate) notification_id: String,
    pub(crate) day: i64,
    pub(crate) step: FunnelStep,
}

/// The increments a batch of events appended at `at_ms` makes: each counted step once for the
/// topic, and once more for the notification when the event has one.
pub(crate) fn tally<'a>(
    events: impl IntoIterator<Item = &'a NewEvent>,
    at_ms: i64,
) -> BTreeMap<TallyKey, i64> {
    let day = day_of(at_ms);
    let mut out = BTreeMap::new();
    for ev in events {
        let Some(topic) = &ev.topic_key else { continue };
        for step in steps_of(ev) {
            let key = TallyKey {
                page_id: ev.page_id.clone(),
                topic_key: topic.clone(),
                notification_id: String::new(),
                day,
                step,
            };
            if let Some(n) = &ev.notification_id {
                let mut k = key.clone();
                k.notification_id = n.clone();
                *out.entry(k).or_insert(0) += 1;
            }
            *out.entry(key).or_insert(0) += 1;
        }
    }
    out
}

/// The counts of a funnel (a range of days, or one day).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts(pub(crate) [i64; FunnelStep::ALL.len()]);

impl Counts {
    /// The count of `step`.
    pub(crate) fn get(&self, step: FunnelStep) -> i64 {
        self.0[step as usize]
    }

    /// Adds `n` to `step`.
    pub(crate) fn add(&mut self, step: FunnelStep, n: i64) {
        self.0[step as usize] += n;
    }

    /// The rates between consecutive steps of the funnel.
    pub(crate) fn rates(&self) -> Rates {
        use FunnelStep as S;
        let r = |num: S, den: S| ratio(self.get(num), self.get(den));
        Rates {
            opt_in: r(S::OptedIn, S::OptInRequested),
            use_: r(S::GrantUsed, S::OptedIn),
            send: r(S::Sent, S::GrantUsed),
            delivery: r(S::Delivered, S::Sent),
            read: r(S::Read, S::Delivered),
            engagement: r(S::Engaged, S::Read),
            click: r(S::Clicked, S::Delivered),
        }
    }
}

/// `num / den`, 0 when `den` is 0.
pub(crate) fn ratio(num: i64, den: i64) -> f64 {
    match den {
        0 => 0.0,
        d => num as f64 / d as f64,
    }
}

/// The rates between the steps of a funnel: each step over the step before it (0 when that is
/// 0). Counts are of events within the range, so a rate may exceed 1 (opt-ins to requests made
/// before the range, window sends that spend no grant, a reply whose read receipt never came).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Rates {
    /// Opt-ins per opt-in request.
    pub(crate) opt_in: f64,
    /// Grants used per opt-in.
    pub(crate) use_: f64,
    /// Messages sent per grant used.
    pub(crate) send: f64,
    /// Delivered per sent.
    pub(crate) delivery: f64,
    /// Read per delivered.
    pub(crate) read: f64,
    /// Engaged deliveries per read.
    pub(crate) engagement: f64,
    /// Clicked deliveries per delivered (beside the chain).
    pub(crate) click: f64,
}

/// A funnel over a range of days: the total and each day's counts, every day of the range
/// present (zeros included), oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Funnel {
    pub(crate) page_id: String,
    pub(crate) topic_key: String,
    pub(crate) notification_id: Option<String>,
    pub(crate) first_day: i64,
    pub(crate) last_day: i64,
    pub(crate) total: Counts,
    pub(crate) days: Vec<(i64, Counts)>,
}

impl Funnel {
    /// The funnel of `rows` (day, step, count) over `first_day..=last_day`.
    pub(crate) fn from_rows(
        page_id: String,
        topic_key: String,
        notification_id: Option<String>,
        first_day: i64,
        last_day: i64,
        rows: impl IntoIterator<Item = (i64, FunnelStep, i64)>,
    ) -> Self {
        let mut days: Vec<(i64, Counts)> = (first_day..=last_day)
            .map(|d| (d, Counts::default()))
            .collect();
        let mut total = Counts::default();
        for (day, step, n) in rows {
            if day < first_day || day > last_day {
                continue;
            }
            days[(day - first_day) as usize].1.add(step, n);
            total.add(step, n);
        }
        Self {
            page_id,
            topic_key,
            notification_id,
            first_day,
            last_day,
            total,
            days,
        }
    }
}

/// `YYYY-MM-DD` of a UTC day.
pub(crate) fn date_of(day: i64) -> String {
    chrono::DateTime::from_timestamp_millis(day * DAY_MS)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The UTC day of a `YYYY-MM-DD` date.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    if s.len() != 10 {
        return None;
    }
    let ms = d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
    Some(day_of(ms))
}

/// The days a funnel read covers: `last` (default `today`) back to `first` (default
/// `default_first(last)`, at most [`MAX_DAYS`] back). `Err` names the field that is wrong.
pub(crate) fn resolve_range(
    first: Option<i64>,
    last: Option<i64>,
    today: i64,
    default_first: impl FnOnce(i64) -> i64,
) -> Result<(i64, i64), (&'static str, String)> {
    let last = last.unwrap_or(today);
    let first = match first {
        Some(f) => f,
        None => default_first(last).clamp(last - MAX_DAYS + 1, last),
    };
    if first > last {
        return Err(("start_date", "must not be after end_date".into()));
    }
    if last - first + 1 > MAX_DAYS {
        return Err((
            "start_date",
            format!("the range may cover at most {MAX_DAYS} days"),
        ));
    }
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind, notification: Option<&str>) -> NewEvent {
        let mut e = NewEvent::new(kind, "p");
        e.topic_key = Some("t".into());
        e.notification_id = notification.map(str::to_string);
        e
    }

    #[test]
    fn a_read_without_a_delivery_receipt_counts_as_delivered_too() {
        let mut read = ev(EventKind::Read, Some("n"));
        assert_eq!(steps_of(&read), [FunnelStep::Read]);
        read.implied.delivered = true;
        assert_eq!(steps_of(&read), [FunnelStep::Delivered, FunnelStep::Read]);
    }

    #[test]
    fn engagement_counts_its_kind_and_once_per_delivery() {
        let mut reply = ev(EventKind::Engaged, Some("n"));
        reply.interaction = Some(InteractionKind::Message);
        reply.implied.first_engagement = true;
        assert_eq!(
            steps_of(&reply),
            [FunnelStep::EngagedMessage, FunnelStep::Engaged]
        );
        let mut postback = ev(EventKind::Engaged, Some("n"));
        postback.interaction = Some(InteractionKind::Postback);
        assert_eq!(steps_of(&postback), [FunnelStep::EngagedPostback]);
        let mut click = ev(EventKind::Clicked, Some("n"));
        click.implied.first_engagement = true;
        assert_eq!(steps_of(&click), [FunnelStep::Clicked, FunnelStep::Engaged]);
    }

    #[test]
    fn an_event_counts_for_its_topic_and_its_notification() {
        let evs = [
            ev(EventKind::Sent, Some("n1")),
            ev(EventKind::Sent, Some("n2")),
            ev(EventKind::OptInRecorded, None),
            NewEvent::new(EventKind::RecipientForgotten, "p"),
        ];
        let t = tally(&evs, 3 * DAY_MS + 5);
        let get = |n: &str, step| {
            t.get(&TallyKey {
                page_id: "p".into(),
                topic_key: "t".into(),
                notification_id: n.into(),
                day: 3,
                step,
            })
            .copied()
        };
        assert_eq!(get("", FunnelStep::Sent), Some(2));
        assert_eq!(get("n1", FunnelStep::Sent), Some(1));
        assert_eq!(get("n2", FunnelStep::Sent), Some(1));
        assert_eq!(get("", FunnelStep::OptedIn), Some(1));
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn rates_are_each_step_over_the_one_before_and_zero_over_nothing() {
        let mut c = Counts::default();
        c.add(FunnelStep::OptInRequested, 4);
        c.add(FunnelStep::OptedIn, 2);
        c.add(FunnelStep::Sent, 2);
        c.add(FunnelStep::Delivered, 2);
        c.add(FunnelStep::Read, 1);
        let r = c.rates();
        assert_eq!((r.opt_in, r.use_, r.delivery, r.read), (0.5, 0.0, 1.0, 0.5));
        assert_eq!(r.engagement, 0.0);
    }

    #[test]
    fn every_day_of_the_range_is_present() {
        let f = Funnel::from_rows(
            "p".into(),
            "t".into(),
            None,
            10,
            12,
            [(11, FunnelStep::Sent, 3), (13, FunnelStep::Sent, 9)],
        );
        assert_eq!(f.days.len(), 3);
        assert_eq!(f.days[1].1.get(FunnelStep::Sent), 3);
        assert_eq!(f.total.get(FunnelStep::Sent), 3);
    }

    #[test]
    fn a_range_defaults_and_stays_bounded() {
        assert_eq!(resolve_range(None, None, 100, |l| l - 29), Ok((71, 100)));
        assert_eq!(resolve_range(None, Some(50), 100, |l| l - 29), Ok((21, 50)));
        assert_eq!(resolve_range(None, None, 1000, |_| 0), Ok((635, 1000)));
        assert_eq!(resolve_range(Some(10), Some(375), 0, |_| 0), Ok((10, 375)));
        assert!(resolve_range(Some(10), Some(376), 0, |_| 0).is_err());
        assert!(resolve_range(Some(11), Some(10), 0, |_| 0).is_err());
    }

    #[test]
    fn dates_round_trip() {
        let d = parse_date("2026-12-07").unwrap();
        assert_eq!(date_of(d), "2026-12-07");
        assert_eq!(parse_date("2026-2-7"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(day_of(-1), -1);
    }
}
