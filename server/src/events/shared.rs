//! An event as the live side hands it out: one allocation shared by every subscriber of the
//! process, with its wire forms (protobuf bytes, JSON) encoded once, by the first subscriber
//! that needs each, and reused by all the others.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::domain::event::Event;

/// A logged event and its encodings.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) event: Event,
    proto: OnceLock<Bytes>,
    json: OnceLock<Arc<str>>,
}

impl Shared {
    /// Shares `event`.
    pub(crate) fn new(event: Event) -> Arc<Self> {
        Arc::new(Self {
            event,
            proto: OnceLock::new(),
            json: OnceLock::new(),
        })
    }

    /// The event's protobuf encoding, made by `encode` the first time it is asked for.
    pub(crate) fn proto(&self, encode: impl FnOnce(&Event) -> Bytes) -> Bytes {
        self.proto.get_or_init(|| encode(&self.event)).clone()
    }

    /// The event's JSON, made by `render` the first time it is asked for.
    pub(crate) fn json(&self, render: impl FnOnce(&Event) -> String) -> Arc<str> {
        self.json
            .get_or_init(|| Arc::from(render(&self.event)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::NewEvent;
    use crate::domain::vocab::EventKind;

    #[test]
    fn each_form_is_encoded_once_whoever_asks() {
        let s = Shared::new(Event {
            seq: 1,
            at_ms: 2,
            event: NewEvent::new(EventKind::Sent, "p"),
        });
        let mut calls = 0;
        for _ in 0..3 {
            let b = s.proto(|e| {
                calls += 1;
                Bytes::from(e.seq.to_string())
            });
            assert_eq!(&b[..], b"1");
        }
        assert_eq!(calls, 1);
        let j1 = s.json(|_| "{}".into());
        let j2 = s.json(|_| unreachable!("rendered twice"));
        assert!(Arc::ptr_eq(&j1, &j2));
    }
}
