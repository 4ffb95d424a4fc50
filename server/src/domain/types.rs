//! Validated value types: a value that exists is well-formed (a `Title` is never 66 characters).

use crate::error::{Error, FieldViolation, Result};

/// Collects field violations so a request reports every bad field at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Keeps the value, or records the violation.
    pub fn check<T>(&mut self, r: Result<T, FieldViolation>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// Records a violation.
    pub fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Fails with every violation recorded, if any.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.0))
        }
    }
}

/// Unwraps a value checked by [`Violations::check`] after [`Violations::finish`] passed.
pub fn checked<T>(v: Option<T>) -> Result<T> {
    v.ok_or_else(|| Error::Internal("validated value missing".into()))
}

fn chars_between(field: &str, v: &str, min: usize, max: usize) -> Result<(), FieldViolation> {
    let n = v.chars().count();
    if n < min || n > max {
        let what = if min == 0 {
            format!("must be at most {max} characters (got {n})")
        } else if n == 0 {
            "is required".to_string()
        } else {
            format!("must be {min} to {max} characters (got {n})")
        };
        return Err(FieldViolation::new(field, what));
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldViolation::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn ident(field: &str, v: &str, max: usize, extra: &str) -> Result<(), FieldViolation> {
    chars_between(field, v, 1, max)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    {
        return Err(FieldViolation::new(
            field,
            format!("may only contain letters, digits and `{extra}`"),
        ));
    }
    Ok(())
}

macro_rules! string_type {
    ($(#[$m:meta])* $name:ident, |$f:ident, $v:ident| $check:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates `value`, naming `field` in the violation.
            pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
                let ($f, $v) = (field, value);
                $check.map(Self)
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value, owned.
            pub fn into_string(self) -> String {
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
    |f, v| ident(f, v, 64, "_-").map(|_| v.to_string())
);
string_type!(
    /// A page-scoped person id.
    Psid,
    |f, v| ident(f, v, 64, "_-").map(|_| v.to_string())
);
string_type!(
    /// A caller-chosen topic key such as `back-in-stock:sku-123`.
    TopicKey,
    |f, v| ident(f, v, 128, "-_.:/").map(|_| v.to_string())
);
string_type!(
    /// The title of an opt-in request or topic: 1 to 65 characters, as Meta allows.
    Title,
    |f, v| chars_between(f, v.trim(), 1, 65).map(|_| v.trim().to_string())
);
string_type!(
    /// An opaque payload, at most 1000 characters.
    Payload,
    |f, v| chars_between(f, v, 0, 1000).map(|_| v.to_string())
);
string_type!(
    /// A caller's idempotency key.
    RequestId,
    |f, v| ident(f, v, 128, "-_.:").map(|_| v.to_string())
);
string_type!(
    /// A segmentation tag, stored lower case.
    Tag,
    |f, v| {
        let t = v.trim().to_lowercase();
        ident(f, &t, 64, "-_.:").map(|_| t)
    }
);
string_type!(
    /// An ISO 3166-1 alpha-2 region code, upper case.
    Region,
    |f, v| {
        let r = v.trim().to_uppercase();
        if r.len() == 2 && r.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(r)
        } else {
            Err(FieldViolation::new(f, "must be an ISO 3166-1 alpha-2 code such as `DE`"))
        }
    }
);

/// A grant token issued by Meta. A secret: its Debug output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Validates a token: 1 to 1024 printable characters.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        if value.is_empty() || value.len() > 1024 || value.chars().any(char::is_control) {
            return Err(FieldViolation::new(
                field,
                "must be 1 to 1024 printable characters",
            ));
        }
        Ok(Self(value.to_string()))
    }

    /// The secret value; only for storage and the Send API.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// Parses a list of tags, naming each bad one by index.
pub fn parse_tags(v: &mut Violations, field: &str, tags: &[String]) -> Vec<Tag> {
    let mut out: Vec<Tag> = tags
        .iter()
        .enumerate()
        .filter_map(|(i, t)| v.check(Tag::parse(&format!("{field}[{i}]"), t)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Parses a list of regions, naming each bad one by index.
pub fn parse_regions(v: &mut Violations, field: &str, regions: &[String]) -> Vec<Region> {
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
        match v.finish() {
            Err(Error::Invalid(list)) => {
                let fields: Vec<_> = list.iter().map(|f| f.field.as_str()).collect();
                assert_eq!(fields, ["page_id", "title"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
