//! The words of planning a send: the people who might receive it (candidates), what the send
//! asks for, and the deliveries to queue. The chunked planning itself is `planning`.

use super::grant::PersonFacts;
use super::polite::{Deferred, Polite};
use super::vocab::{DeliveryPath, MessageTag};

/// One person who might receive a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) recipient_id: i64,
    pub(crate) psid: String,
    /// Whether they pass the send's tag filter.
    pub(crate) tag_ok: bool,
    /// Whether they pass the send's region filter.
    pub(crate) region_ok: bool,
    pub(crate) facts: PersonFacts,
    /// The person's own time zone (UpdateRecipient, else their Marketing Messages opt-in).
    pub(crate) zone: Option<String>,
    /// When the person's other notifications were sent or are due (read only when the send
    /// has a frequency cap): what the cap counts.
    pub(crate) times: Vec<i64>,
}

/// A delivery to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewDelivery {
    pub(crate) recipient_id: i64,
    pub(crate) psid: String,
    pub(crate) grant_id: Option<i64>,
    pub(crate) path: DeliveryPath,
    pub(crate) rule: String,
    /// Held back (a frequency cap, quiet hours) until a not-before time.
    pub(crate) deferred: Option<Deferred>,
    /// The zone whose quiet hours the delivery keeps (checked again when it is due).
    pub(crate) quiet_zone: Option<String>,
}

/// What the send asks for, beyond its audience.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    pub(crate) include_window: bool,
    pub(crate) message_tag: Option<MessageTag>,
    pub(crate) max_recipients: Option<u32>,
    /// The frequency cap and quiet hours it observes.
    pub(crate) polite: Polite,
    /// When the send is due (its scheduled time): what the politeness rules are checked at.
    pub(crate) due_ms: i64,
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::domain::grant::GrantFacts;
    use crate::domain::planning::{ChunkPlan, first_grants, merge, room, scan_of, sweep};
    use crate::domain::policy::Policy;
    use crate::domain::vocab::{ExclusionReason, GrantKind, GrantState};

    /// A plan made in one piece: the opt-in-order phase over every usable grant (with a
    /// maximum), then one sweep, as the chunked planner does chunk by chunk.
    fn plan(policy: &Policy, people: &[Candidate], ask: Ask, now: i64) -> ChunkPlan {
        plan_named(policy, people, 0, ask, now)
    }

    fn plan_named(
        policy: &Policy,
        people: &[Candidate],
        unknown: usize,
        ask: Ask,
        now: i64,
    ) -> ChunkPlan {
        let mut out = ChunkPlan::default();
        let mut queued = HashSet::new();
        if let Some(max) = ask.max_recipients {
            let by_id: HashMap<i64, Candidate> =
                people.iter().map(|c| (c.recipient_id, c.clone())).collect();
            let first = first_grants(
                policy,
                &scan_of(people, now),
                &by_id,
                &queued,
                u64::from(max),
                &ask,
                now,
            );
            queued.extend(first.deliveries.iter().map(|d| d.recipient_id));
            out = first;
        }
        let left = room(&ask, out.deliveries.len() as u64);
        let rest = sweep(policy, people, unknown, &queued, left, &ask, now);
        merge(&mut out.counts, &rest.counts);
        out.deliveries.extend(rest.deliveries);
        out
    }

    const NOW: i64 = 1_790_000_000_000;
    const DAY: i64 = 86_400_000;

    fn person(id: i64, opted_in_ms: i64, last_interaction_ms: Option<i64>) -> Candidate {
        Candidate {
            recipient_id: id,
            psid: format!("u{id}"),
            tag_ok: true,
            region_ok: true,
            zone: None,
            times: Vec::new(),
            facts: PersonFacts {
                region: Some("US".into()),
                last_interaction_ms,
                grants: vec![GrantFacts {
                    id: id * 10,
                    kind: GrantKind::OneTimeNotification,
                    state: GrantState::Active,
                    opted_in_ms,
                    expires_ms: Some(opted_in_ms + 365 * DAY),
                    last_sent_ms: None,
                }],
            },
        }
    }

    fn ask() -> Ask {
        Ask {
            include_window: false,
            message_tag: None,
            max_recipients: None,
            polite: Default::default(),
            due_ms: 0,
        }
    }

    fn psids(p: &ChunkPlan) -> Vec<&str> {
        p.deliveries.iter().map(|d| d.psid.as_str()).collect()
    }

    #[test]
    fn max_recipients_keeps_the_oldest_opt_ins_first() {
        let people = [
            person(1, NOW - DAY, None),
            person(2, NOW - 3 * DAY, None),
            person(3, NOW - 2 * DAY, None),
        ];
        let p = plan(
            &Policy::builtin(),
            &people,
            Ask {
                max_recipients: Some(2),
                ..ask()
            },
            NOW,
        );
        assert_eq!(psids(&p), ["u2", "u3"]);
        assert_eq!(p.counts.grant_sends, 2);
        assert_eq!(p.counts.exclusions[&ExclusionReason::MaxRecipients], 1);
    }

    #[test]
    fn filters_exclude_before_the_policy_engine_decides() {
        let mut tagged_out = person(1, NOW - DAY, None);
        tagged_out.tag_ok = false;
        let mut regioned_out = person(2, NOW - DAY, None);
        regioned_out.region_ok = false;
        let p = plan(&Policy::builtin(), &[tagged_out, regioned_out], ask(), NOW);
        assert!(p.deliveries.is_empty());
        assert_eq!(p.counts.exclusions[&ExclusionReason::TagFilter], 1);
        assert_eq!(p.counts.exclusions[&ExclusionReason::RegionFilter], 1);
    }

    #[test]
    fn named_people_the_topic_does_not_know_are_excluded_as_no_grant() {
        // u1 and a stranger were named; only u1 is known.
        let p = plan_named(
            &Policy::builtin(),
            &[person(1, NOW - DAY, None)],
            1,
            ask(),
            NOW,
        );
        assert_eq!(psids(&p), ["u1"]);
        assert_eq!(p.counts.exclusions[&ExclusionReason::NoGrant], 1);
    }

    #[test]
    fn under_max_recipients_window_sends_come_after_grant_sends() {
        let people = || {
            let mut spent = person(1, NOW - DAY, Some(NOW - 60_000));
            spent.facts.grants[0].state = GrantState::Consumed;
            [spent, person(2, NOW - DAY, None)]
        };
        let with_max = |max| Ask {
            include_window: true,
            max_recipients: Some(max),
            ..ask()
        };
        let p = plan(&Policy::builtin(), &people(), with_max(2), NOW);
        assert_eq!(psids(&p), ["u2", "u1"]);
        assert_eq!((p.counts.grant_sends, p.counts.window_sends), (1, 1));
        assert_eq!(p.deliveries[1].path, DeliveryPath::Window);
        // Room for one: the grant holder keeps it, the window send is left out.
        let p = plan(&Policy::builtin(), &people(), with_max(1), NOW);
        assert_eq!(psids(&p), ["u2"]);
        assert_eq!(p.counts.exclusions[&ExclusionReason::MaxRecipients], 1);
        // Without a maximum both are sent, in the sweep's order.
        let p = plan(
            &Policy::builtin(),
            &people(),
            Ask {
                include_window: true,
                ..ask()
            },
            NOW,
        );
        assert_eq!((p.counts.grant_sends, p.counts.window_sends), (1, 1));
    }
}
