//! Platform rules held as dated data (policy/messenger.toml): windows, expiry, cooldowns,
//! regions and retired tags. Pure functions of the data and a time; no I/O.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use super::vocab::GrantKind;

/// The rules shipped with the service.
pub(crate) const DEFAULT_POLICY: &str = include_str!("../../policy/messenger.toml");

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A rule that takes effect on a date and holds until a later rule of the same list does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Dated {
    pub(crate) id: String,
    pub(crate) from: NaiveDate,
    #[serde(default)]
    pub(crate) days: Option<i64>,
    #[serde(default)]
    pub(crate) hours: Option<i64>,
}

/// A regional rule: either deny the listed regions, or allow only them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegionRule {
    pub(crate) id: String,
    pub(crate) from: NaiveDate,
    #[serde(default)]
    pub(crate) deny: Vec<String>,
    #[serde(default)]
    pub(crate) allow_only: Vec<String>,
}

/// The rules of one grant kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KindRules {
    pub(crate) kind: String,
    pub(crate) reusable: bool,
    #[serde(default)]
    pub(crate) expiry: Vec<Dated>,
    #[serde(default)]
    pub(crate) cooldown: Vec<Dated>,
    #[serde(default)]
    pub(crate) regions: Vec<RegionRule>,
}

/// Tags refused from a date.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetiredTags {
    pub(crate) id: String,
    pub(crate) from: NaiveDate,
    pub(crate) tags: Vec<String>,
}

/// A named duration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Span {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) hours: Option<i64>,
    #[serde(default)]
    pub(crate) days: Option<i64>,
}

impl Span {
    fn ms(&self) -> i64 {
        self.hours.unwrap_or(0) * HOUR_MS + self.days.unwrap_or(0) * DAY_MS
    }
}

/// The whole rule book.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Policy {
    pub(crate) window: Span,
    pub(crate) opt_in_repeat: Span,
    #[serde(default)]
    pub(crate) region_groups: BTreeMap<String, Vec<String>>,
    pub(crate) kinds: Vec<KindRules>,
    #[serde(default)]
    pub(crate) retired_tags: Vec<RetiredTags>,
}

/// A rule's verdict: allowed or refused, naming the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed(Option<String>),
    Refused(String),
}

fn day_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0)
}

/// The rule of `list` in force at `at_ms` (the latest one that started at or before it).
fn in_force(list: &[Dated], at_ms: i64) -> Option<&Dated> {
    list.iter()
        .filter(|r| day_ms(r.from) <= at_ms)
        .max_by_key(|r| r.from)
}

impl Policy {
    /// Parses and checks a rule book.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let p: Policy = toml::from_str(text).map_err(|e| format!("policy: {e}"))?;
        for k in &p.kinds {
            if !GrantKind::ALL.iter().any(|g| g.name() == k.kind) {
                return Err(format!("policy: unknown kind `{}`", k.kind));
            }
        }
        Ok(p)
    }

    /// The rules shipped with the service.
    pub(crate) fn builtin() -> Self {
        Self::parse(DEFAULT_POLICY).unwrap_or_else(|e| panic!("built-in policy is invalid: {e}"))
    }

    fn kind(&self, kind: GrantKind) -> Option<&KindRules> {
        self.kinds.iter().find(|k| k.kind == kind.name())
    }

    /// Length of the standard messaging window.
    pub(crate) fn window_ms(&self) -> i64 {
        self.window.ms()
    }

    /// The id of the window rule.
    pub(crate) fn window_rule(&self) -> &str {
        &self.window.id
    }

    /// Whether a person who last interacted at `last` is inside the window at `now`.
    pub(crate) fn in_window(&self, last_ms: Option<i64>, now_ms: i64) -> bool {
        last_ms.is_some_and(|t| t <= now_ms && now_ms < t + self.window_ms())
    }

    /// The id of the weekly opt-in title rule.
    pub(crate) fn opt_in_repeat_rule(&self) -> &str {
        &self.opt_in_repeat.id
    }

    /// How long the same opt-in title may not be asked again.
    pub(crate) fn opt_in_repeat_ms(&self) -> i64 {
        self.opt_in_repeat.ms()
    }

    /// Expiry of a grant of `kind` opted in at `opted_in_ms` (None: never expires).
    /// An opt-in older than the first dated rule follows that first rule (a grant never
    /// escapes expiry by being old), and the arithmetic saturates rather than wrap.
    pub(crate) fn expiry_ms(&self, kind: GrantKind, opted_in_ms: i64) -> Option<i64> {
        let rules = self.kind(kind)?;
        let rule = in_force(&rules.expiry, opted_in_ms)
            .or_else(|| rules.expiry.iter().min_by_key(|r| r.from))?;
        rule.days
            .map(|d| opted_in_ms.saturating_add(d.saturating_mul(DAY_MS)))
    }

    /// Whether one grant of `kind` allows more than one message.
    pub(crate) fn reusable(&self, kind: GrantKind) -> bool {
        self.kind(kind).is_some_and(|k| k.reusable)
    }

    /// The kinds whose grants allow more than one message.
    pub(crate) fn reusable_kinds(&self) -> Vec<GrantKind> {
        GrantKind::ALL
            .iter()
            .copied()
            .filter(|k| self.reusable(*k))
            .collect()
    }

    /// The cooldown between two sends on one reusable token at `now`, with its rule id.
    pub(crate) fn cooldown(&self, kind: GrantKind, now_ms: i64) -> Option<(i64, &str)> {
        let rule = in_force(&self.kind(kind)?.cooldown, now_ms)?;
        Some((rule.hours.unwrap_or(0) * HOUR_MS, rule.id.as_str()))
    }

    fn expand<'a>(&'a self, names: &'a [String]) -> impl Iterator<Item = &'a str> {
        names
            .iter()
            .flat_map(move |n| match self.region_groups.get(n) {
                Some(list) => list.iter().map(String::as_str).collect::<Vec<_>>(),
                None => vec![n.as_str()],
            })
    }

    /// Whether a grant of `kind` may be used for a person in `region` at `now`. An unknown
    /// region passes deny rules and fails allow-only rules.
    pub(crate) fn region_verdict(
        &self,
        kind: GrantKind,
        region: Option<&str>,
        now_ms: i64,
    ) -> Verdict {
        let Some(rules) = self.kind(kind) else {
            return Verdict::Allowed(None);
        };
        let mut last_allowed = None;
        for rule in rules.regions.iter().filter(|r| day_ms(r.from) <= now_ms) {
            let denied = region.is_some_and(|r| self.expand(&rule.deny).any(|d| d == r));
            let outside_allowed = !rule.allow_only.is_empty()
                && !region.is_some_and(|r| self.expand(&rule.allow_only).any(|a| a == r));
            if denied || outside_allowed {
                return Verdict::Refused(rule.id.clone());
            }
            last_allowed = Some(rule.id.clone());
        }
        Verdict::Allowed(last_allowed)
    }

    /// The rule that retired `tag` at `now`, if any.
    pub(crate) fn tag_retired(&self, tag: &str, now_ms: i64) -> Option<&str> {
        self.retired_tags
            .iter()
            .find(|r| day_ms(r.from) <= now_ms && r.tags.iter().any(|t| t == tag))
            .map(|r| r.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str) -> i64 {
        day_ms(date.parse().unwrap()) + HOUR_MS
    }

    #[test]
    fn window_is_24_hours_from_the_last_interaction() {
        let p = Policy::builtin();
        let t = at("2026-11-01");
        assert!(p.in_window(Some(t), t + 23 * HOUR_MS));
        assert!(!p.in_window(Some(t), t + 24 * HOUR_MS));
        assert!(!p.in_window(None, t));
    }

    #[test]
    fn one_time_tokens_expire_after_one_year() {
        let p = Policy::builtin();
        let t = at("2026-01-01");
        assert_eq!(
            p.expiry_ms(GrantKind::OneTimeNotification, t),
            Some(t + 365 * DAY_MS)
        );
        assert_eq!(p.expiry_ms(GrantKind::MarketingMessages, t), None);
    }

    #[test]
    fn marketing_cooldown_is_48_hours_from_2025_09_01() {
        let p = Policy::builtin();
        let before = p.cooldown(GrantKind::MarketingMessages, at("2025-08-31"));
        let after = p.cooldown(GrantKind::MarketingMessages, at("2025-09-01"));
        assert_eq!(before.map(|c| c.0), Some(24 * HOUR_MS));
        assert_eq!(after.map(|c| c.0), Some(48 * HOUR_MS));
    }

    #[test]
    fn tags_retired_on_2026_04_27() {
        let p = Policy::builtin();
        assert_eq!(p.tag_retired("ACCOUNT_UPDATE", at("2026-04-26")), None);
        assert!(p.tag_retired("ACCOUNT_UPDATE", at("2026-04-27")).is_some());
        assert_eq!(p.tag_retired("HUMAN_AGENT", at("2026-11-01")), None);
    }

    #[test]
    fn one_time_notifications_are_refused_in_the_eea_from_2020_12_16() {
        let p = Policy::builtin();
        let k = GrantKind::OneTimeNotification;
        assert!(matches!(
            p.region_verdict(k, Some("DE"), at("2020-12-15")),
            Verdict::Allowed(_)
        ));
        assert_eq!(
            p.region_verdict(k, Some("DE"), at("2020-12-16")),
            Verdict::Refused("otn.eea-2020-12-16".into())
        );
        assert!(matches!(
            p.region_verdict(k, Some("US"), at("2026-11-01")),
            Verdict::Allowed(_)
        ));
        assert!(matches!(
            p.region_verdict(k, None, at("2026-11-01")),
            Verdict::Allowed(_)
        ));
    }

    #[test]
    fn marketing_messages_only_reach_listed_regions_from_2026_02_10() {
        let p = Policy::builtin();
        let k = GrantKind::MarketingMessages;
        assert!(matches!(
            p.region_verdict(k, Some("US"), at("2026-02-09")),
            Verdict::Allowed(_)
        ));
        assert!(matches!(
            p.region_verdict(k, Some("US"), at("2026-02-10")),
            Verdict::Refused(_)
        ));
        assert!(matches!(
            p.region_verdict(k, Some("JP"), at("2026-02-10")),
            Verdict::Allowed(_)
        ));
        assert!(matches!(
            p.region_verdict(k, None, at("2026-02-10")),
            Verdict::Refused(_)
        ));
    }
}
