//! Erasure that sticks: what otn keeps of a forgotten person (a keyed hash and a time), and the
//! rule that an opt-in Meta stamped before the erasure never brings them back.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The tombstone key of a person on a page: HMAC-SHA256 of the PSID keyed with the page's app
/// secret. The database alone cannot tell whose it is (nor confirm a guessed PSID), and a body
/// replayed after the app secret rotated no longer verifies anyway.
pub(crate) fn person_key(app_secret: &str, psid: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(psid.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether an opt-in made at `opted_in_ms` is one the erasure at `erased_ms` took away: made at
/// or before it (a replay, or a webhook that arrived late). A later opt-in is new consent.
pub(crate) fn forgotten(opted_in_ms: i64, erased_ms: i64) -> bool {
    opted_in_ms <= erased_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opt_in_from_before_the_erasure_stays_forgotten_and_a_later_one_counts() {
        assert!(forgotten(1_000, 2_000));
        assert!(forgotten(2_000, 2_000));
        assert!(!forgotten(2_001, 2_000));
    }

    #[test]
    fn the_key_depends_on_the_secret_and_does_not_show_the_psid() {
        let k = person_key("secret", "1234567890");
        assert_eq!(k.len(), 64);
        assert!(!k.contains("1234567890"));
        assert_ne!(k, person_key("other", "1234567890"));
        assert_ne!(k, person_key("secret", "1234567891"));
    }
}
