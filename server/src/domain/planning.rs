//! Planning a send of any size in bounded chunks, each decided on its own and resumable from a
//! cursor: first, when `max_recipients` is set, grant sends in the order of each person's
//! oldest usable opt-in (a scan of usable grants by opt-in time meets every person first at
//! that grant); then a sweep of everyone on the topic (or named) by row id, which counts every
//! exclusion and queues the rest while there is room. Pure: no I/O.

use std::collections::{HashMap, HashSet};

use super::decide::{Decision, decide};
use super::grant::TagFilter;
use super::notification::{Audience, PlanCounts, SendInput};
use super::plan::{Ask, Candidate, NewDelivery};
use super::policy::Policy;
use super::polite::{Gate, Polite};
use super::values::{Psid, Region};
use super::vocab::{DeliveryPath, ExclusionReason, MessageTag};

/// What a planner needs of a send, kept with its notification so any replica can plan it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub(crate) tags: TagFilter,
    pub(crate) regions: Vec<Region>,
    /// The people of an explicit list, sorted and without duplicates.
    pub(crate) named: Option<Vec<Psid>>,
    pub(crate) include_window: bool,
    pub(crate) message_tag: Option<MessageTag>,
    pub(crate) max_recipients: Option<u32>,
    /// The frequency cap and quiet hours the send observes (resolved when it was made).
    pub(crate) polite: Polite,
}

impl Spec {
    /// The planner's view of a send that observes `polite`.
    pub(crate) fn of(input: &SendInput, polite: Polite) -> Self {
        let (tags, named) = match &input.audience {
            Audience::AllEligible => (TagFilter::default(), None),
            Audience::Tags(t) => (t.clone(), None),
            Audience::Psids(p) => (TagFilter::default(), Some(p.clone())),
        };
        let o = &input.options;
        Spec {
            tags,
            regions: o.regions.clone(),
            named,
            include_window: o.include_window_recipients,
            message_tag: o.message_tag,
            max_recipients: o.max_recipients,
            polite,
        }
    }

    /// What the send asks of the policy engine and the plan, due at `due_ms`.
    pub(crate) fn ask(&self, due_ms: i64) -> Ask {
        Ask {
            include_window: self.include_window,
            message_tag: self.message_tag,
            max_recipients: self.max_recipients,
            polite: self.polite.clone(),
            due_ms,
        }
    }
}

/// Where a notification's planning stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Cursor {
    /// Grant sends in opt-in order (only with `max_recipients`), after this (opt-in time,
    /// grant id).
    FirstGrants { after: (i64, i64) },
    /// Everyone on the topic by recipient row id, or a named audience by position in its
    /// sorted list, after this.
    Sweep { after: i64 },
    /// Every chunk is planned.
    Done,
}

impl Cursor {
    /// Where planning starts for a send that asks `ask`.
    pub(crate) fn start(ask: &Ask) -> Self {
        match ask.max_recipients {
            Some(_) => Cursor::FirstGrants {
                after: (i64::MIN, i64::MIN),
            },
            None => Cursor::Sweep { after: -1 },
        }
    }
}

/// A usable grant met by the opt-in-order scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scanned {
    pub(crate) grant_id: i64,
    pub(crate) recipient_id: i64,
    pub(crate) opted_in_ms: i64,
}

/// What one chunk decided: deliveries to queue, in order, and its counts (sends included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ChunkPlan {
    pub(crate) deliveries: Vec<NewDelivery>,
    pub(crate) counts: PlanCounts,
}

impl ChunkPlan {
    /// Queues a send the engine decided, as the politeness gate lets it: now, deferred, or not
    /// at all (counted as excluded). Whether it was queued.
    fn queue(
        &mut self,
        policy: &Policy,
        ask: &Ask,
        c: &Candidate,
        (path, grant_id, rule): (DeliveryPath, Option<i64>, String),
        now_ms: i64,
    ) -> bool {
        let (gate, quiet_zone) = gate(policy, ask, c, path, now_ms);
        let deferred = match gate {
            Gate::Exclude(reason) => {
                self.counts.exclude(reason, 1);
                return false;
            }
            Gate::Now => None,
            Gate::Defer(d) => {
                self.counts.defer(d.why, 1);
                Some(d)
            }
        };
        self.counts.send(path, 1);
        self.deliveries.push(NewDelivery {
            recipient_id: c.recipient_id,
            psid: c.psid.clone(),
            grant_id,
            path,
            rule,
            deferred,
            quiet_zone,
        });
        true
    }
}

/// The politeness gate for one person the engine sends to by `path`, and the zone of quiet
/// hours their delivery keeps.
fn gate(
    policy: &Policy,
    ask: &Ask,
    c: &Candidate,
    path: DeliveryPath,
    now_ms: i64,
) -> (Gate, Option<String>) {
    let p = &ask.polite;
    if !p.active() {
        return (Gate::Now, None);
    }
    let zone = p.quiet_zone(c.zone.as_deref());
    let at = Ord::max(now_ms, ask.due_ms);
    let closes = c.facts.last_interaction_ms.map(|t| t + policy.window_ms());
    (p.plan(path, zone.as_deref(), &c.times, at, closes), zone)
}

/// How many more deliveries `max_recipients` allows after `queued` (None: no limit).
pub(crate) fn room(ask: &Ask, queued: u64) -> Option<u64> {
    ask.max_recipients
        .map(|max| u64::from(max).saturating_sub(queued))
}

/// The person's oldest usable grant on the topic at `now`, as (opt-in time, grant id).
fn oldest_usable(c: &Candidate, now_ms: i64) -> Option<(i64, i64)> {
    c.facts
        .grants
        .iter()
        .filter(|g| g.usable(now_ms))
        .map(|g| (g.opted_in_ms, g.id))
        .min()
}

/// The first phase over one chunk of the opt-in-order scan: each person met at their oldest
/// usable grant, passing the filters, not queued yet, whom the engine sends a grant, is queued,
/// in scan order, while `room` lasts. Everyone else is left to the sweep, which counts them.
pub(crate) fn first_grants(
    policy: &Policy,
    scanned: &[Scanned],
    people: &HashMap<i64, Candidate>,
    queued: &HashSet<i64>,
    room: u64,
    ask: &Ask,
    now_ms: i64,
) -> ChunkPlan {
    let mut out = ChunkPlan::default();
    let mut seen: HashSet<i64> = HashSet::new();
    for s in scanned {
        if out.deliveries.len() as u64 >= room {
            break;
        }
        let Some(c) = people.get(&s.recipient_id) else {
            continue;
        };
        if queued.contains(&c.recipient_id)
            || !c.tag_ok
            || !c.region_ok
            || oldest_usable(c, now_ms) != Some((s.opted_in_ms, s.grant_id))
            || !seen.insert(c.recipient_id)
        {
            continue;
        }
        if let Decision::Send {
            path: DeliveryPath::Grant,
            grant_id,
            rule,
        } = decide(
            policy,
            &c.facts,
            ask.include_window,
            ask.message_tag,
            now_ms,
        ) {
            // Excluded by the gate: not queued, and not counted here (the sweep counts it).
            let mut probe = ChunkPlan::default();
            if probe.queue(
                policy,
                ask,
                c,
                (DeliveryPath::Grant, grant_id, rule),
                now_ms,
            ) {
                merge(&mut out.counts, &probe.counts);
                out.deliveries.extend(probe.deliveries);
            }
        }
    }
    out
}

/// The sweep over one chunk of people (by row id): filters first, then the engine; a person
/// already queued is skipped, a send is queued while `room` lasts (then counted as
/// MAX_RECIPIENTS), every exclusion is counted. `unknown` named people are NO_GRANT.
pub(crate) fn sweep(
    policy: &Policy,
    candidates: &[Candidate],
    unknown: usize,
    queued: &HashSet<i64>,
    mut room: Option<u64>,
    ask: &Ask,
    now_ms: i64,
) -> ChunkPlan {
    let mut out = ChunkPlan::default();
    out.counts.exclude(ExclusionReason::NoGrant, unknown as i64);
    for c in candidates {
        if queued.contains(&c.recipient_id) {
            continue;
        }
        if !c.tag_ok {
            out.counts.exclude(ExclusionReason::TagFilter, 1);
            continue;
        }
        if !c.region_ok {
            out.counts.exclude(ExclusionReason::RegionFilter, 1);
            continue;
        }
        match decide(
            policy,
            &c.facts,
            ask.include_window,
            ask.message_tag,
            now_ms,
        ) {
            Decision::Excluded { reason, .. } => out.counts.exclude(reason, 1),
            Decision::Send { .. } if room == Some(0) => {
                out.counts.exclude(ExclusionReason::MaxRecipients, 1)
            }
            Decision::Send {
                path,
                grant_id,
                rule,
            } => {
                if out.queue(policy, ask, c, (path, grant_id, rule), now_ms) {
                    room = room.map(|r| r - 1);
                }
            }
        }
    }
    out
}

/// Every usable grant of `candidates` in the opt-in-order scan's order (for a plan made in one
/// piece, as the tests do).
#[cfg(test)]
pub(crate) fn scan_of(candidates: &[Candidate], now_ms: i64) -> Vec<Scanned> {
    let mut out: Vec<Scanned> = candidates
        .iter()
        .flat_map(|c| {
            c.facts
                .grants
                .iter()
                .filter(|g| g.usable(now_ms))
                .map(|g| Scanned {
                    grant_id: g.id,
                    recipient_id: c.recipient_id,
                    opted_in_ms: g.opted_in_ms,
                })
        })
        .collect();
    out.sort_by_key(|s| (s.opted_in_ms, s.grant_id));
    out
}

/// Leaves out of `chunk` the grant sends whose grant could not be reserved (a concurrent send
/// reserved it first): they are counted RESERVED instead of sent.
pub(crate) fn drop_lost(chunk: &mut ChunkPlan, reserved: &HashSet<i64>) {
    let before = chunk.deliveries.len();
    let kept = |d: &NewDelivery| d.grant_id.is_none_or(|g| reserved.contains(&g));
    for d in chunk.deliveries.iter().filter(|d| !kept(d)) {
        if let Some(deferred) = &d.deferred {
            chunk.counts.defer(deferred.why, -1);
        }
    }
    chunk.deliveries.retain(kept);
    let lost = (before - chunk.deliveries.len()) as i64;
    chunk.counts.grant_sends -= lost;
    chunk.counts.exclude(ExclusionReason::Reserved, lost);
}

/// Adds `more` into `counts`.
pub(crate) fn merge(counts: &mut PlanCounts, more: &PlanCounts) {
    counts.grant_sends += more.grant_sends;
    counts.window_sends += more.window_sends;
    counts.tag_sends += more.tag_sends;
    counts.deferred_by_cap += more.deferred_by_cap;
    counts.deferred_by_quiet += more.deferred_by_quiet;
    for (r, n) in &more.exclusions {
        counts.exclude(*r, *n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::grant::{GrantFacts, PersonFacts};
    use crate::domain::vocab::{GrantKind, GrantState};

    const NOW: i64 = 1_790_000_000_000;
    const DAY: i64 = 86_400_000;

    fn person(id: i64, grants: &[(i64, i64)]) -> Candidate {
        Candidate {
            recipient_id: id,
            psid: format!("u{id}"),
            tag_ok: true,
            region_ok: true,
            zone: None,
            times: Vec::new(),
            facts: PersonFacts {
                region: Some("US".into()),
                last_interaction_ms: None,
                grants: grants
                    .iter()
                    .map(|(gid, opted)| GrantFacts {
                        id: *gid,
                        kind: GrantKind::OneTimeNotification,
                        state: GrantState::Active,
                        opted_in_ms: *opted,
                        expires_ms: Some(opted + 365 * DAY),
                        last_sent_ms: None,
                    })
                    .collect(),
            },
        }
    }

    fn ask(max: Option<u32>) -> Ask {
        Ask {
            include_window: false,
            message_tag: None,
            max_recipients: max,
            polite: Default::default(),
            due_ms: 0,
        }
    }

    #[test]
    fn the_opt_in_scan_meets_each_person_once_at_their_oldest_usable_grant_across_chunks() {
        // u1 holds an old and a new grant; u2 one in between. Scanned in two chunks.
        let people = [
            person(1, &[(10, NOW - 5 * DAY), (11, NOW - DAY)]),
            person(2, &[(20, NOW - 3 * DAY)]),
        ];
        let by_id: HashMap<i64, Candidate> =
            people.iter().map(|c| (c.recipient_id, c.clone())).collect();
        let scan = scan_of(&people, NOW);
        let (a, b) = scan.split_at(2);
        let policy = Policy::builtin();
        let first = first_grants(&policy, a, &by_id, &HashSet::new(), 10, &ask(Some(10)), NOW);
        let queued: HashSet<i64> = first.deliveries.iter().map(|d| d.recipient_id).collect();
        let second = first_grants(&policy, b, &by_id, &queued, 10, &ask(Some(10)), NOW);
        let order: Vec<&str> = first
            .deliveries
            .iter()
            .chain(&second.deliveries)
            .map(|d| d.psid.as_str())
            .collect();
        assert_eq!(order, ["u1", "u2"], "by oldest opt-in, each once");
        // The sweep then skips them: nothing is queued or counted twice.
        let all: HashSet<i64> = [1, 2].into();
        let s = sweep(&policy, &people, 0, &all, Some(8), &ask(Some(10)), NOW);
        assert!(s.deliveries.is_empty() && s.counts == PlanCounts::default());
    }

    #[test]
    fn the_sweep_counts_sends_past_the_room_as_max_recipients() {
        let people = [person(1, &[(10, NOW)]), person(2, &[(20, NOW)])];
        let s = sweep(
            &Policy::builtin(),
            &people,
            3,
            &HashSet::new(),
            Some(1),
            &ask(Some(1)),
            NOW,
        );
        assert_eq!(s.deliveries.len(), 1);
        assert_eq!(s.counts.exclusions[&ExclusionReason::MaxRecipients], 1);
        assert_eq!(s.counts.exclusions[&ExclusionReason::NoGrant], 3);
    }

    #[test]
    fn a_grant_another_send_reserved_first_is_counted_reserved_not_sent() {
        let people = [person(1, &[(10, NOW)]), person(2, &[(20, NOW)])];
        let mut chunk = sweep(
            &Policy::builtin(),
            &people,
            0,
            &HashSet::new(),
            None,
            &ask(None),
            NOW,
        );
        assert_eq!(chunk.counts.grant_sends, 2);
        drop_lost(&mut chunk, &[20].into());
        assert_eq!(chunk.deliveries.len(), 1);
        assert_eq!(chunk.counts.grant_sends, 1);
        assert_eq!(chunk.counts.exclusions[&ExclusionReason::Reserved], 1);
    }

    #[test]
    fn a_cursor_survives_storage_as_json() {
        for c in [
            Cursor::FirstGrants { after: (NOW, 7) },
            Cursor::Sweep { after: 42 },
            Cursor::Done,
        ] {
            let j = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Cursor>(&j).unwrap(), c);
        }
        assert_eq!(Cursor::start(&ask(None)), Cursor::Sweep { after: -1 });
        assert!(matches!(
            Cursor::start(&ask(Some(3))),
            Cursor::FirstGrants { .. }
        ));
    }
}
