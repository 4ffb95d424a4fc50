//! Planning a send: from the people who might receive it to the deliveries to queue and the
//! counts of the plan, by the policy engine's decision for each person. Pure: no I/O.

use std::collections::HashSet;

use super::decide::{Decision, decide};
use super::grant::PersonFacts;
use super::notification::PlanCounts;
use super::policy::Policy;
use super::values::Psid;
use super::vocab::{DeliveryPath, ExclusionReason, MessageTag};

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
}

/// A delivery to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewDelivery {
    pub(crate) recipient_id: i64,
    pub(crate) psid: String,
    pub(crate) grant_id: Option<i64>,
    pub(crate) path: DeliveryPath,
    pub(crate) rule: String,
}

/// What the send asks for, beyond its audience.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask<'a> {
    /// The people named by an explicit list, if the audience is one.
    pub(crate) named: Option<&'a [Psid]>,
    pub(crate) include_window: bool,
    pub(crate) message_tag: Option<MessageTag>,
    pub(crate) max_recipients: Option<u32>,
}

/// A plan: the deliveries to queue, in order, and its counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) deliveries: Vec<NewDelivery>,
    pub(crate) counts: PlanCounts,
}

/// Plans a send at `now_ms`. People named but unknown are excluded as NO_GRANT; filters come
/// first; then the policy engine decides each person's path. Order (what max_recipients keeps):
/// grant sends by the person's oldest usable opt-in (then row id), then window and tag sends by
/// row id.
pub(crate) fn plan(policy: &Policy, candidates: &[Candidate], ask: Ask<'_>, now_ms: i64) -> Plan {
    let mut counts = PlanCounts::default();
    if let Some(list) = ask.named {
        let known: HashSet<&str> = candidates.iter().map(|c| c.psid.as_str()).collect();
        let unknown = list.iter().filter(|p| !known.contains(p.as_str())).count();
        counts.exclude(ExclusionReason::NoGrant, unknown as i64);
    }
    let mut grant_sends: Vec<((i64, i64), NewDelivery)> = Vec::new();
    let mut other_sends: Vec<NewDelivery> = Vec::new();
    for c in candidates {
        if !c.tag_ok {
            counts.exclude(ExclusionReason::TagFilter, 1);
            continue;
        }
        if !c.region_ok {
            counts.exclude(ExclusionReason::RegionFilter, 1);
            continue;
        }
        match decide(
            policy,
            &c.facts,
            ask.include_window,
            ask.message_tag,
            now_ms,
        ) {
            Decision::Excluded { reason, .. } => counts.exclude(reason, 1),
            Decision::Send {
                path,
                grant_id,
                rule,
            } => {
                let d = NewDelivery {
                    recipient_id: c.recipient_id,
                    psid: c.psid.clone(),
                    grant_id,
                    path,
                    rule,
                };
                if path == DeliveryPath::Grant {
                    let oldest = c
                        .facts
                        .grants
                        .iter()
                        .filter(|g| g.usable(now_ms))
                        .map(|g| g.opted_in_ms)
                        .min()
                        .unwrap_or(i64::MAX);
                    grant_sends.push(((oldest, c.recipient_id), d));
                } else {
                    other_sends.push(d);
                }
            }
        }
    }
    grant_sends.sort_by_key(|(k, _)| *k);
    let mut deliveries: Vec<NewDelivery> = grant_sends.into_iter().map(|(_, d)| d).collect();
    deliveries.extend(other_sends);
    if let Some(max) = ask.max_recipients {
        let over = deliveries.len().saturating_sub(max as usize);
        deliveries.truncate(max as usize);
        counts.exclude(ExclusionReason::MaxRecipients, over as i64);
    }
    for d in &deliveries {
        counts.send(d.path, 1);
    }
    Plan { deliveries, counts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::grant::GrantFacts;
    use crate::domain::vocab::{GrantKind, GrantState};

    const NOW: i64 = 1_790_000_000_000;
    const DAY: i64 = 86_400_000;

    fn person(id: i64, opted_in_ms: i64, last_interaction_ms: Option<i64>) -> Candidate {
        Candidate {
            recipient_id: id,
            psid: format!("u{id}"),
            tag_ok: true,
            region_ok: true,
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

    fn ask() -> Ask<'static> {
        Ask {
            named: None,
            include_window: false,
            message_tag: None,
            max_recipients: None,
        }
    }

    fn psids(p: &Plan) -> Vec<&str> {
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
        let named = [
            Psid::parse("p", "u1").unwrap(),
            Psid::parse("p", "stranger").unwrap(),
        ];
        let p = plan(
            &Policy::builtin(),
            &[person(1, NOW - DAY, None)],
            Ask {
                named: Some(&named),
                ..ask()
            },
            NOW,
        );
        assert_eq!(psids(&p), ["u1"]);
        assert_eq!(p.counts.exclusions[&ExclusionReason::NoGrant], 1);
    }

    #[test]
    fn window_sends_come_after_grant_sends() {
        let mut spent = person(1, NOW - DAY, Some(NOW - 60_000));
        spent.facts.grants[0].state = GrantState::Consumed;
        let p = plan(
            &Policy::builtin(),
            &[spent, person(2, NOW - DAY, None)],
            Ask {
                include_window: true,
                ..ask()
            },
            NOW,
        );
        assert_eq!(psids(&p), ["u2", "u1"]);
        assert_eq!((p.counts.grant_sends, p.counts.window_sends), (1, 1));
        assert_eq!(p.deliveries[1].path, DeliveryPath::Window);
    }
}
