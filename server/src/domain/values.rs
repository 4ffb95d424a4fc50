//! Validated values: a value that exists is well-formed (a `Title` is never 66 characters). Each
//! constructor applies the contract's rule from `otn::rules`, the same one the Rust SDK applies.

use otn::rules;

use crate::error::{Error, FieldViolation, Result};

pub(crate) use otn::rules::Violations;

/// Unwraps a value checked by [`Violations::check`] after [`Violations::finish`] passed.
pub(crate) fn checked<T>(v: Option<T>) -> Result<T> {
    v.ok_or_else(|| Error::Internal("validated value missing".into()))
}

macro_rules! string_type {
    ($(#[$m:meta])* $name:ident, |$f:ident, $v:ident| $check:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) struct $name(String);

        impl $name {
            /// Validates `value`, naming `field` in the violation.
            pub(crate) fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
                let ($f, $v) = (field, value);
                $check.map(Self)
            }

            /// The value.
            pub(crate) fn as_str(&self) -> &str {
                &self.0
            }

            /// The value, owned.
            #[allow(dead_code, reason = "generated for every value type")]
            pub(crate) fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_type!(
    /// A Facebook page id.
    PageId,
    |f, v| rules::page_id(f, v).map(|_| v.to_string())
);
string_type!(
    /// A page-scoped person id.
    Psid,
    |f, v| rules::psid(f, v).map(|_| v.to_string())
);
string_type!(
    /// A caller-chosen topic key such as `back-in-stock:sku-123`.
    TopicKey,
    |f, v| rules::topic_key(f, v).map(|_| v.to_string())
);
string_type!(
    /// The title of an opt-in request or topic: 1 to 65 characters, as Meta allows.
    Title,
    |f, v| rules::title(f, v)
);
string_type!(
    /// An opaque payload, at most 1000 characters.
    Payload,
    |f, v| rules::payload(f, v).map(|_| v.to_string())
);
string_type!(
    /// A caller's idempotency key.
    RequestId,
    |f, v| rules::request_id(f, v).map(|_| v.to_string())
);
string_type!(
    /// A segmentation tag, stored lower case.
    Tag,
    |f, v| rules::tag(f, v)
);
string_type!(
    /// An ISO 3166-1 alpha-2 region code, upper case.
    Region,
    |f, v| rules::region(f, v)
);
string_type!(
    /// A server-issued notification id.
    NotificationId,
    |f, v| rules::notification_id(f, v).map(|_| v.to_string())
);

impl TopicKey {
    /// The reserved topic of grants whose topic is not known yet (an opt-in asked for outside
    /// the service whose payload names no topic). AssignGrant moves them to their topic.
    pub(crate) const UNASSIGNED: &'static str = "otn:unassigned";

    /// The reserved topic.
    pub(crate) fn unassigned() -> Self {
        Self(Self::UNASSIGNED.to_string())
    }

    /// A topic a caller may name for a send or an opt-in (not the reserved one).
    pub(crate) fn parse_assignable(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let key = Self::parse(field, value)?;
        if key.0 == Self::UNASSIGNED {
            return Err(FieldViolation::new(
                field,
                "is reserved for grants whose topic is not known yet; assign them with AssignGrant",
            ));
        }
        Ok(key)
    }

    /// A title for a new topic named only by its key.
    pub(crate) fn default_title(&self) -> Title {
        Title(self.0.chars().take(otn::limits::TITLE_MAX_CHARS).collect())
    }
}

/// A grant token issued by Meta. A secret: its Debug output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token(String);

impl Token {
    /// Validates a token: 1 to 1024 printable characters.
    pub(crate) fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        rules::token(field, value)?;
        Ok(Self(value.to_string()))
    }

    /// The secret value; only for storage and the Send API.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// Parses a list of at most `max` tags, naming each bad one by index; sorted, without
/// duplicates.
pub(crate) fn parse_tags(v: &mut Violations, field: &str, tags: &[String], max: usize) -> Vec<Tag> {
    if !rules::count(v, field, tags.len(), 0, max) {
        return Vec::new();
    }
    let mut out: Vec<Tag> = tags
        .iter()
        .enumerate()
        .filter_map(|(i, t)| v.check(Tag::parse(&format!("{field}[{i}]"), t)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Parses a list of at most [`otn::limits::REGIONS_MAX`] regions, naming each bad one by index;
/// sorted, without duplicates.
pub(crate) fn parse_regions(v: &mut Violations, field: &str, regions: &[String]) -> Vec<Region> {
    if !rules::count(v, field, regions.len(), 0, otn::limits::REGIONS_MAX) {
        return Vec::new();
    }
    let mut out: Vec<Region> = regions
        .iter()
        .enumerate()
        .filter_map(|(i, r)| v.check(Region::parse(&format!("{field}[{i}]"), r)))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_may_not_exceed_65_characters() {
        assert!(Title::parse("title", &"é".repeat(65)).is_ok());
        let err = Title::parse("title", &"a".repeat(66)).unwrap_err();
        assert_eq!(err.field, "title");
        assert!(Title::parse("title", "  ").is_err());
    }

    #[test]
    fn topic_key_allows_only_safe_characters() {
        assert!(TopicKey::parse("t", "back-in-stock:sku-123").is_ok());
        assert!(TopicKey::parse("t", "has space").is_err());
        assert!(TopicKey::parse("t", "").is_err());
    }

    #[test]
    fn the_unassigned_topic_is_reserved() {
        assert!(TopicKey::parse("t", TopicKey::UNASSIGNED).is_ok());
        assert!(TopicKey::parse_assignable("t", TopicKey::UNASSIGNED).is_err());
    }

    #[test]
    fn tags_are_lower_cased_and_regions_upper_cased() {
        assert_eq!(Tag::parse("t", " VIP ").unwrap().as_str(), "vip");
        assert_eq!(Region::parse("r", "de").unwrap().as_str(), "DE");
        assert!(Region::parse("r", "DEU").is_err());
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = Token::parse("token", "secret-token").unwrap();
        assert!(!format!("{t:?}").contains("secret"));
    }

    #[test]
    fn violations_collect_every_field() {
        let mut v = Violations::default();
        v.check(PageId::parse("page_id", ""));
        v.check(Psid::parse("psid", "ok"));
        v.check(Title::parse("title", &"x".repeat(70)));
        let fields: Vec<_> = v
            .finish()
            .unwrap_err()
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["page_id", "title"]);
    }
}
