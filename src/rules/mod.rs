//! The contract's input rules, written once: the checks the server applies to every request and
//! the Rust SDK applies before sending, over the numbers of [`crate::limits`].
//!
//! Each check names the field it judges with the server's field path, so a client that
//! validates locally reports exactly the violations the server would.

use crate::limits::*;

mod requests;

pub use requests::{
    content, list_eligible, regions, request_opt_in, send_notification, tag_filter, tags,
};

/// One bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field path, for example `content.button_template.buttons[1].title`.
    pub field: String,
    /// What is wrong, for a human.
    pub description: String,
}

impl Violation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Collects violations so a request reports every bad field at once, up to the first
/// [`VIOLATIONS_MAX`] of them (so a request's error costs the same however many bad entries it
/// holds).
#[derive(Debug, Default)]
pub struct Violations {
    kept: Vec<Violation>,
}

impl Violations {
    /// Keeps the value, or records the violation.
    pub fn check<T>(&mut self, r: Result<T, Violation>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.record(e);
                None
            }
        }
    }

    fn record(&mut self, e: Violation) {
        if self.kept.len() < VIOLATIONS_MAX {
            self.kept.push(e);
        }
    }

    /// Records a violation.
    pub fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.record(Violation::new(field, description));
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Fails with the violations kept, if any (at most [`VIOLATIONS_MAX`]).
    pub fn finish(self) -> Result<(), Vec<Violation>> {
        match self.kept.is_empty() {
            true => Ok(()),
            false => Err(self.kept),
        }
    }
}

/// Checks a repeated field's length before its entries: a list longer than `max` is one
/// violation of the list and `false` (its entries are not looked at, so a hostile list costs
/// one comparison); otherwise `true`.
pub fn count(v: &mut Violations, field: &str, len: usize, min: usize, max: usize) -> bool {
    if len < min || len > max {
        let what = match min {
            0 => format!("must hold at most {max} entries (got {len})"),
            _ => format!("must hold {min} to {max} entries (got {len})"),
        };
        v.push(field, what);
        return false;
    }
    true
}

pub use crate::limits::MESSAGE_TAGS;

/// Free text: `min` to `max` characters, no control character but a line feed.
pub fn text(field: &str, v: &str, min: usize, max: usize) -> Result<(), Violation> {
    let n = v.chars().count();
    if n < min || n > max {
        let what = if n == 0 {
            "is required".to_string()
        } else if min == 0 {
            format!("must be at most {max} characters (got {n})")
        } else {
            format!("must be {min} to {max} characters (got {n})")
        };
        return Err(Violation::new(field, what));
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Violation::new(field, "must not contain control characters"));
    }
    Ok(())
}

/// An identifier: 1 to `max` ASCII letters, digits and characters of `extra`.
pub fn ident(field: &str, v: &str, max: usize, extra: &str) -> Result<(), Violation> {
    text(field, v, 1, max)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    {
        return Err(Violation::new(
            field,
            format!("may only contain letters, digits and `{extra}`"),
        ));
    }
    Ok(())
}

/// A Facebook page id.
pub fn page_id(field: &str, v: &str) -> Result<(), Violation> {
    ident(field, v, PAGE_ID_MAX_CHARS, ID_ALPHABET)
}

/// A page-scoped person id.
pub fn psid(field: &str, v: &str) -> Result<(), Violation> {
    ident(field, v, PSID_MAX_CHARS, ID_ALPHABET)
}

/// A caller-chosen topic key such as `back-in-stock:sku-123`.
pub fn topic_key(field: &str, v: &str) -> Result<(), Violation> {
    ident(field, v, TOPIC_KEY_MAX_CHARS, TOPIC_KEY_ALPHABET)
}

/// A caller's idempotency key.
pub fn request_id(field: &str, v: &str) -> Result<(), Violation> {
    ident(field, v, REQUEST_ID_MAX_CHARS, REQUEST_ID_ALPHABET)
}

/// A title, trimmed: 1 to 65 characters, as Meta allows. Returns the trimmed title.
pub fn title(field: &str, v: &str) -> Result<String, Violation> {
    let t = v.trim();
    text(field, t, 1, TITLE_MAX_CHARS)?;
    Ok(t.to_string())
}

/// An opaque opt-in payload.
pub fn payload(field: &str, v: &str) -> Result<(), Violation> {
    text(field, v, 0, PAYLOAD_MAX_CHARS)
}

/// A segmentation tag; returns it lower-cased.
pub fn tag(field: &str, v: &str) -> Result<String, Violation> {
    let t = v.trim().to_lowercase();
    ident(field, &t, TAG_MAX_CHARS, TAG_ALPHABET)?;
    Ok(t)
}

/// An ISO 3166-1 alpha-2 region; returns it upper-cased.
pub fn region(field: &str, v: &str) -> Result<String, Violation> {
    let r = v.trim().to_uppercase();
    if r.len() == 2 && r.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(r)
    } else {
        Err(Violation::new(
            field,
            "must be an ISO 3166-1 alpha-2 code such as `DE`",
        ))
    }
}

/// A grant token issued by Meta: 1 to 1024 printable characters.
pub fn token(field: &str, v: &str) -> Result<(), Violation> {
    let n = v.chars().count();
    if n == 0 || n > TOKEN_MAX_CHARS || v.chars().any(char::is_control) {
        return Err(Violation::new(
            field,
            format!("must be 1 to {TOKEN_MAX_CHARS} printable characters"),
        ));
    }
    Ok(())
}

fn has_host(rest: &str) -> bool {
    !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace)
}

/// A web_url button's URL: http(s) with a host.
pub fn web_url(field: &str, v: &str) -> Result<(), Violation> {
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    if !rest.is_some_and(has_host) || v.chars().count() > WEB_URL_MAX_CHARS {
        return Err(Violation::new(
            field,
            format!("must be an http(s) URL with a host, at most {WEB_URL_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

/// An https URL with a host (an opt-in template's image).
pub fn https_url(field: &str, v: &str) -> Result<(), Violation> {
    if !v.strip_prefix("https://").is_some_and(has_host)
        || v.chars().count() > OPT_IN_IMAGE_URL_MAX_CHARS
    {
        return Err(Violation::new(
            field,
            format!(
                "must be an https URL with a host, at most {OPT_IN_IMAGE_URL_MAX_CHARS} characters"
            ),
        ));
    }
    Ok(())
}

/// A notification id: server-issued ids are UUIDs, so hex digits and `-`.
pub fn notification_id(field: &str, v: &str) -> Result<(), Violation> {
    if v.is_empty()
        || v.len() > NOTIFICATION_ID_MAX_CHARS
        || !v.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
    {
        return Err(Violation::new(
            field,
            format!(
                "is not a notification id (1 to {NOTIFICATION_ID_MAX_CHARS} hex digits and `-`)"
            ),
        ));
    }
    Ok(())
}

/// A page size: 0 (the default) to the maximum. Returns the size to use.
pub fn page_size(field: &str, n: i32) -> Result<u64, Violation> {
    match n {
        0 => Ok(PAGE_SIZE_DEFAULT as u64),
        n if n > 0 && n as usize <= PAGE_SIZE_MAX => Ok(n as u64),
        _ => Err(Violation::new(
            field,
            format!("must be between 0 (default {PAGE_SIZE_DEFAULT}) and {PAGE_SIZE_MAX}"),
        )),
    }
}

/// A message tag a send may name.
pub fn message_tag(field: &str, v: &str) -> Result<(), Violation> {
    match v {
        "HUMAN_AGENT" => Err(Violation::new(
            field,
            "HUMAN_AGENT is for a human's replies, never for automation",
        )),
        t if MESSAGE_TAGS.contains(&t) => Ok(()),
        _ => Err(Violation::new(
            field,
            format!("must be one of {}", MESSAGE_TAGS.join(", ")),
        )),
    }
}

/// A protobuf timestamp between 1970 and 9999; returns it in epoch milliseconds.
pub fn timestamp(field: &str, t: &prost_types::Timestamp) -> Result<i64, Violation> {
    if !(0..1_000_000_000).contains(&t.nanos) || t.seconds < 0 || t.seconds > 253_402_300_799 {
        return Err(Violation::new(
            field,
            "must be a valid timestamp between 1970 and 9999",
        ));
    }
    Ok(t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use crate::limits::*;
    use crate::v1 as pb;

    fn strings(max: usize) -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("\\PC{0,70}", 0..max)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Whatever a caller sends, validation never panics, lists at most VIOLATIONS_MAX
        /// violations, and a request it passes is within every bound of limits.json.
        #[test]
        fn any_send_is_judged_within_bounds(text in "\\PC{0,2100}", psids in strings(120),
                                            all_of in strings(70), regions in strings(80),
                                            topic in "\\PC{0,140}", max in any::<i32>()) {
            let r = pb::SendNotificationRequest {
                request_id: "r-1".into(),
                page_id: "p".into(),
                topic_key: topic,
                audience: Some(pb::Audience { selection: Some(match psids.is_empty() {
                    true => pb::audience::Selection::TagFilter(pb::TagFilter { all_of, ..Default::default() }),
                    false => pb::audience::Selection::Recipients(pb::RecipientList { psids }),
                })}),
                content: Some(pb::Content { body: Some(pb::content::Body::Text(text.clone())) }),
                options: Some(pb::SendOptions { regions: regions.clone(), max_recipients: max, ..Default::default() }),
            };
            match super::send_notification(&r) {
                Err(v) => prop_assert!(!v.is_empty() && v.len() <= VIOLATIONS_MAX),
                Ok(()) => {
                    prop_assert!(text.chars().count() <= TEXT_MAX_CHARS && !text.is_empty());
                    prop_assert!(regions.len() <= REGIONS_MAX);
                    prop_assert!(max >= 0);
                }
            }
        }

        /// ListEligible likewise, with any tag filter and regions.
        #[test]
        fn any_listing_is_judged_within_bounds(any_of in strings(70), none_of in strings(70),
                                               regions in strings(80), size in any::<i32>()) {
            let r = pb::ListEligibleRequest {
                page_id: "p".into(),
                topic_key: "t".into(),
                tag_filter: Some(pb::TagFilter { any_of: any_of.clone(), none_of: none_of.clone(), ..Default::default() }),
                regions: regions.clone(),
                page_size: size,
                ..Default::default()
            };
            match super::list_eligible(&r) {
                Err(v) => prop_assert!(!v.is_empty() && v.len() <= VIOLATIONS_MAX),
                Ok(()) => {
                    prop_assert!(any_of.len() <= TAG_FILTER_TAGS_MAX && none_of.len() <= TAG_FILTER_TAGS_MAX);
                    prop_assert!(regions.len() <= REGIONS_MAX);
                    prop_assert!((0..=PAGE_SIZE_MAX as i32).contains(&size));
                }
            }
        }
    }
}
