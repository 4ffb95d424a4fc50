//! otn's books against Meta's: what the event log says became of each person's delivery, and
//! the check that the people otn holds as sent are exactly the people Meta accepted a message
//! for (the stand-in counts what it accepted), none of them failed.

use std::collections::{BTreeMap, BTreeSet};

use otn::v1::{self as pb, DeliveryEventType as T};

use crate::TestApp;

/// What otn's books say of one notification, by person (PSID).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Books {
    /// Sent (delivered and read included).
    pub sent: BTreeSet<String>,
    /// Failed: Meta certainly did not deliver.
    pub failed: BTreeSet<String>,
    /// Given up with the outcome unknown.
    pub unconfirmed: BTreeSet<String>,
    /// The last state-changing event of each person's delivery.
    pub last: BTreeMap<String, T>,
}

/// The books of a notification from its events, in log order.
pub fn books_of(events: &[pb::DeliveryEvent]) -> Books {
    let mut last = BTreeMap::new();
    for e in events {
        let t = T::try_from(e.r#type).unwrap_or(T::Unspecified);
        let state = matches!(
            t,
            T::Queued
                | T::Sent
                | T::Delivered
                | T::Read
                | T::Failed
                | T::Unconfirmed
                | T::Cancelled
                | T::RetryScheduled
        );
        if state && !e.psid.is_empty() {
            last.insert(e.psid.clone(), t);
        }
    }
    let mut b = Books {
        last,
        ..Default::default()
    };
    for (psid, t) in &b.last {
        let set = match t {
            T::Sent | T::Delivered | T::Read => &mut b.sent,
            T::Failed => &mut b.failed,
            T::Unconfirmed => &mut b.unconfirmed,
            _ => continue,
        };
        set.insert(psid.clone());
    }
    b
}

impl TestApp {
    /// The people Meta (the stand-in) accepted at least one message for.
    pub fn accepted_psids(&self) -> BTreeSet<String> {
        self.sim()
            .accepted_messages()
            .iter()
            .map(|m| m.recipient_psid.clone())
            .collect()
    }

    /// Checks, once notification `id` is final, that otn's SENT set is the set of its people
    /// Meta accepted a message for, that no accepted message is FAILED, and that no token was
    /// accepted twice; returns the books.
    pub async fn assert_books_agree(&mut self, id: &str) -> Books {
        let n = self.wait_final(id).await;
        let books = books_of(&self.events_of(id).await);
        let accepted: BTreeSet<String> = self
            .accepted_psids()
            .into_iter()
            .filter(|p| books.last.contains_key(p))
            .collect();
        assert_eq!(
            books
                .sent
                .symmetric_difference(&accepted)
                .collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "otn's SENT set is the set Meta accepted ({} vs {})",
            books.sent.len(),
            accepted.len()
        );
        assert!(
            books.failed.is_disjoint(&accepted),
            "accepted but FAILED: {:?}",
            books.failed.intersection(&accepted).collect::<Vec<_>>()
        );
        let stats = self.sim().stats();
        assert!(
            stats.per_token.values().all(|n| *n == 1),
            "a token accepted twice"
        );
        let c = n.counts.unwrap_or_default();
        assert_eq!(
            (c.sent + c.delivered + c.read) as usize,
            books.sent.len(),
            "GetNotification counts what the log says: {c:?}"
        );
        assert_eq!(c.failed as usize, books.failed.len(), "{c:?}");
        assert_eq!(c.unconfirmed as usize, books.unconfirmed.len(), "{c:?}");
        books
    }
}
