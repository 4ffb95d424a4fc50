//! The policy engine: for one person, which path a notification may take (a grant of a given
//! kind, the 24-hour window, a message tag) or why it may not, naming the rule that decided.

use super::grant::{PersonFacts, state_reason};
use super::policy::{Policy, Verdict};
use super::vocab::{DeliveryPath, ExclusionReason, MessageTag};

/// The engine's answer for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Send, by this path, spending this grant (grant path only), under this rule.
    Send {
        path: DeliveryPath,
        grant_id: Option<i64>,
        rule: String,
    },
    /// Do not send, for this reason, under this rule if any.
    Excluded {
        reason: ExclusionReason,
        rule: Option<String>,
    },
}

/// Decides one person's path at `now`. A usable grant is always spent first (the notification
/// is what the person asked for), soonest-expiring first; then the window, if the send asks
/// for it; then a message tag, if the send names one and it is still accepted.
pub(crate) fn decide(
    policy: &Policy,
    person: &PersonFacts,
    include_window: bool,
    message_tag: Option<MessageTag>,
    now_ms: i64,
) -> Decision {
    let mut usable: Vec<_> = person.grants.iter().filter(|g| g.usable(now_ms)).collect();
    usable.sort_by_key(|g| (g.expires_ms.unwrap_or(i64::MAX), g.id));
    let mut refusal: Option<(ExclusionReason, String)> = None;
    for g in usable {
        if !g.kind.sendable() {
            let rule = format!("grant.{}.not-supported", g.kind.name());
            refusal.get_or_insert((ExclusionReason::KindNotSupported, rule));
            continue;
        }
        match policy.region_verdict(g.kind, person.region.as_deref(), now_ms) {
            Verdict::Refused(rule) => {
                refusal.get_or_insert((ExclusionReason::RegionPolicy, rule));
                continue;
            }
            Verdict::Allowed(_) => {
                if policy.reusable(g.kind)
                    && let Some((cooldown, rule)) = policy.cooldown(g.kind, now_ms)
                    && g.last_sent_ms.is_some_and(|t| t + cooldown > now_ms)
                {
                    refusal.get_or_insert((ExclusionReason::Cooldown, rule.to_string()));
                    continue;
                }
                return Decision::Send {
                    path: DeliveryPath::Grant,
                    grant_id: Some(g.id),
                    rule: format!("grant.{}", g.kind.name()),
                };
            }
        }
    }
    if include_window && policy.in_window(person.last_interaction_ms, now_ms) {
        return Decision::Send {
            path: DeliveryPath::Window,
            grant_id: None,
            rule: policy.window_rule().to_string(),
        };
    }
    if let Some(tag) = message_tag {
        return match policy.tag_retired(tag.as_str(), now_ms) {
            Some(rule) => Decision::Excluded {
                reason: ExclusionReason::TagRetired,
                rule: Some(rule.to_string()),
            },
            None => Decision::Send {
                path: DeliveryPath::Tag,
                grant_id: None,
                rule: format!("tag.{}", tag.as_str()),
            },
        };
    }
    if let Some((reason, rule)) = refusal {
        return Decision::Excluded {
            reason,
            rule: Some(rule),
        };
    }
    Decision::Excluded {
        reason: state_reason(&person.grants, now_ms),
        rule: None,
    }
}

#[cfg(test)]
mod tests;
