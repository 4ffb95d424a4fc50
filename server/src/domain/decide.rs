//! The policy engine: for one person, which path a notification may take (a grant of a given
//! kind, the 24-hour window, a message tag) or why it may not, naming the rule that decided.

use super::event::Path;
use super::grant::{GrantKind, GrantState};
use super::policy::{Policy, Verdict};

/// Exclusion reasons (numbers match `otn.v1.ExclusionReason`).
pub mod reason {
    pub const NO_GRANT: i32 = 1;
    pub const EXPIRED: i32 = 2;
    pub const STOPPED: i32 = 3;
    pub const CONSUMED: i32 = 4;
    pub const RESERVED: i32 = 5;
    pub const REVOKED: i32 = 6;
    pub const INVALID: i32 = 7;
    pub const TAG_FILTER: i32 = 8;
    pub const REGION_FILTER: i32 = 9;
    pub const REGION_POLICY: i32 = 10;
    pub const COOLDOWN: i32 = 11;
    pub const MAX_RECIPIENTS: i32 = 12;
    pub const TAG_RETIRED: i32 = 13;
}

/// A grant as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantFacts {
    pub id: i64,
    pub kind: GrantKind,
    pub state: GrantState,
    pub opted_in_ms: i64,
    pub expires_ms: Option<i64>,
    pub last_sent_ms: Option<i64>,
}

/// A person as the engine sees them, with their grants on the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFacts {
    pub region: Option<String>,
    pub last_interaction_ms: Option<i64>,
    pub grants: Vec<GrantFacts>,
}

/// The engine's answer for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send, by this path, spending this grant (grant path only), under this rule.
    Send {
        path: Path,
        grant_id: Option<i64>,
        rule: String,
    },
    /// Do not send, for this reason (an `otn.v1.ExclusionReason`), under this rule if any.
    Excluded { reason: i32, rule: Option<String> },
}

/// Decides one person's path at `now`. A usable grant is always spent first (the notification
/// is what the person asked for), soonest-expiring first; then the window, if the send asks
/// for it; then a message tag, if the send names one and it is still accepted.
pub fn decide(
    policy: &Policy,
    person: &PersonFacts,
    include_window: bool,
    message_tag: Option<&str>,
    now_ms: i64,
) -> Decision {
    let mut usable: Vec<&GrantFacts> = person
        .grants
        .iter()
        .filter(|g| g.state == GrantState::Active && g.expires_ms.is_none_or(|e| e > now_ms))
        .collect();
    usable.sort_by_key(|g| (g.expires_ms.unwrap_or(i64::MAX), g.id));
    let mut refusal: Option<(i32, String)> = None;
    for g in usable {
        match policy.region_verdict(g.kind, person.region.as_deref(), now_ms) {
            Verdict::Refused(rule) => {
                refusal.get_or_insert((reason::REGION_POLICY, rule));
                continue;
            }
            Verdict::Allowed(_) => {
                if policy.reusable(g.kind)
                    && let Some((cooldown, rule)) = policy.cooldown(g.kind, now_ms)
                    && g.last_sent_ms.is_some_and(|t| t + cooldown > now_ms)
                {
                    refusal.get_or_insert((reason::COOLDOWN, rule.to_string()));
                    continue;
                }
                return Decision::Send {
                    path: Path::Grant,
                    grant_id: Some(g.id),
                    rule: format!("grant.{}", g.kind.name()),
                };
            }
        }
    }
    if include_window && policy.in_window(person.last_interaction_ms, now_ms) {
        return Decision::Send {
            path: Path::Window,
            grant_id: None,
            rule: policy.window_rule().to_string(),
        };
    }
    if let Some(tag) = message_tag {
        return match policy.tag_retired(tag, now_ms) {
            Some(rule) => Decision::Excluded {
                reason: reason::TAG_RETIRED,
                rule: Some(rule.to_string()),
            },
            None => Decision::Send {
                path: Path::Tag,
                grant_id: None,
                rule: format!("tag.{tag}"),
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

/// Why someone without a usable grant has none, by the first state that applies.
fn state_reason(grants: &[GrantFacts], now_ms: i64) -> i32 {
    let has = |f: &dyn Fn(&GrantFacts) -> bool| grants.iter().any(f);
    if grants.is_empty() {
        reason::NO_GRANT
    } else if has(&|g| g.state == GrantState::Reserved) {
        reason::RESERVED
    } else if has(&|g| g.state == GrantState::Stopped) {
        reason::STOPPED
    } else if has(&|g| {
        g.state == GrantState::Expired
            || (g.state == GrantState::Active && g.expires_ms.is_some_and(|e| e <= now_ms))
    }) {
        reason::EXPIRED
    } else if has(&|g| g.state == GrantState::Consumed) {
        reason::CONSUMED
    } else if has(&|g| g.state == GrantState::Invalid) {
        reason::INVALID
    } else {
        reason::REVOKED
    }
}

#[cfg(test)]
mod tests;
