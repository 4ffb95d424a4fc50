//! Fault injection: queued and random faults, and how each one shapes the answer to a send.

use std::{
    collections::VecDeque,
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    response::Response,
};
use rand::Rng;

use super::{
    errors::{
        CODE_PERMISSION, CODE_POLICY, CODE_RATE_LIMIT, CODE_TEMPORARY, GraphError, SUBCODE_BLOCKED,
        SUBCODE_UNAVAILABLE,
    },
    state::lock,
};

/// A failure the simulator can impose on one incoming send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400, code 613, `X-Business-Use-Case-Usage` with `estimated_time_to_regain_access` = 1 minute.
    RateLimited,
    /// HTTP 400 with the given rate-limit code (4, 613, 80006, 17, 32) and minutes to regain access.
    RateLimitedWith {
        /// `error.code`.
        code: i64,
        /// `estimated_time_to_regain_access` in the usage header.
        regain_minutes: u32,
    },
    /// HTTP 500, code 2; nothing accepted.
    ServerError,
    /// HTTP 500 with the given code (e.g. 1200); nothing accepted.
    ServerErrorCode(i64),
    /// Waits, then answers HTTP 500 code 2; nothing accepted (the client normally times out first).
    Timeout(Duration),
    /// Processes the send normally (it may be accepted), then waits before answering.
    AcceptThenTimeout(Duration),
    /// Closes the connection without a response; nothing accepted.
    DropConnection,
    /// Processes the send normally (it may be accepted), then closes the connection without a response.
    AcceptThenDrop,
    /// HTTP 400, code 100 without a subcode naming the recipient's token field (`(#100)
    /// one_time_notif_token is invalid`); nothing accepted, the token is not spent.
    TokenInvalid,
    /// HTTP 400, code 190: the page access token is invalid.
    PageTokenInvalid,
    /// HTTP 400, code 10 / 2018108: this person isn't available right now.
    Blocked,
    /// HTTP 400, code 200 / 1545041: the person blocked the page.
    BlockedPage,
    /// HTTP 400 with this code and subcode (e.g. 100/2018001 "No matching user found",
    /// 10/1893063 page restricted, 2300052 "This person is not available right now").
    Refused {
        /// `error.code`.
        code: i64,
        /// `error.error_subcode`.
        subcode: Option<i64>,
        /// `error.message`.
        message: String,
    },
    /// Processes the send normally (it may be accepted), then answers HTTP 500 code 2 with
    /// `is_transient: true`, as Meta sometimes does after accepting a message.
    AcceptThenServerError,
    /// Processes the send normally (it may be accepted), then answers HTTP 500 with this code
    /// (e.g. `{code: 1}`, "an unknown error", without `is_transient`).
    AcceptThenServerErrorCode(i64),
    /// Processes the send normally (it may be accepted), then answers HTTP 502 with an HTML
    /// body (a proxy's error page, no Graph error at all).
    AcceptThenBadGateway,
}

/// What a fault does to the processing of one send.
#[derive(Debug)]
pub(super) enum Effect {
    /// Answer this error without processing the send.
    Refuse(GraphError),
    /// Wait, then answer HTTP 500 code 2 without processing the send.
    StallThenFail(Duration),
    /// Close the connection without processing the send.
    Drop,
    /// Process the send, then wait before answering.
    ProcessThenStall(Duration),
    /// Process the send, then close the connection.
    ProcessThenDrop,
    /// Process the send, then answer this error instead of its result.
    ProcessThenFail(GraphError),
    /// Process the send, then answer HTTP 502 with an HTML page.
    ProcessThenBadGateway,
}

impl Fault {
    /// The effect of this fault on a send for `page_id` (used in the rate-limit usage header)
    /// whose recipient is `token_field` (named by a token refusal).
    pub(super) fn effect(&self, page_id: &str, token_field: &str) -> Effect {
        match self {
            Fault::RateLimited => {
                Effect::Refuse(GraphError::rate_limited(CODE_RATE_LIMIT, page_id, 1))
            }
            Fault::RateLimitedWith {
                code,
                regain_minutes,
            } => Effect::Refuse(GraphError::rate_limited(*code, page_id, *regain_minutes)),
            Fault::ServerError => Effect::Refuse(GraphError::server_error(CODE_TEMPORARY)),
            Fault::ServerErrorCode(code) => Effect::Refuse(GraphError::server_error(*code)),
            Fault::Timeout(d) => Effect::StallThenFail(*d),
            Fault::AcceptThenTimeout(d) => Effect::ProcessThenStall(*d),
            Fault::DropConnection => Effect::Drop,
            Fault::AcceptThenDrop => Effect::ProcessThenDrop,
            Fault::TokenInvalid => {
                Effect::Refuse(GraphError::token_refused(token_field, "is invalid"))
            }
            Fault::PageTokenInvalid => Effect::Refuse(GraphError::bad_access_token()),
            Fault::Blocked => Effect::Refuse(GraphError::new(
                CODE_POLICY,
                Some(SUBCODE_UNAVAILABLE),
                "(#10) This person isn't available right now.",
            )),
            Fault::BlockedPage => Effect::Refuse(GraphError::new(
                CODE_PERMISSION,
                Some(SUBCODE_BLOCKED),
                "(#200) This person has blocked the page.",
            )),
            Fault::Refused {
                code,
                subcode,
                message,
            } => Effect::Refuse(GraphError::new(*code, *subcode, message.clone())),
            Fault::AcceptThenServerError => {
                Effect::ProcessThenFail(GraphError::server_error(CODE_TEMPORARY))
            }
            Fault::AcceptThenServerErrorCode(code) => {
                Effect::ProcessThenFail(GraphError::server_error(*code))
            }
            Fault::AcceptThenBadGateway => Effect::ProcessThenBadGateway,
        }
    }
}

#[derive(Debug, Default)]
struct FaultState {
    queue: VecDeque<Fault>,
    rates: Vec<(Fault, u32)>,
}

/// Queued and random faults; a send checks one atomic flag when none are configured.
#[derive(Debug, Default)]
pub(super) struct Faults {
    active: AtomicBool,
    state: Mutex<FaultState>,
}

impl Faults {
    fn refresh(&self, st: &FaultState) {
        let on = !st.queue.is_empty() || !st.rates.is_empty();
        self.active.store(on, Ordering::Release);
    }

    /// Appends faults to the queue; each later send consumes one, in order.
    pub(crate) fn inject(&self, faults: Vec<Fault>) {
        let mut st = lock(&self.state);
        st.queue.extend(faults);
        self.refresh(&st);
    }

    /// Sets the random rate (per mille) of a fault kind; 0 removes it.
    pub(crate) fn set_rate(&self, fault: Fault, per_mille: u32) {
        let mut st = lock(&self.state);
        let kind = std::mem::discriminant(&fault);
        st.rates.retain(|(f, _)| std::mem::discriminant(f) != kind);
        if per_mille > 0 {
            st.rates.push((fault, per_mille.min(1000)));
        }
        self.refresh(&st);
    }

    /// Removes all queued faults and rates.
    pub(crate) fn clear(&self) {
        let mut st = lock(&self.state);
        st.queue.clear();
        st.rates.clear();
        self.refresh(&st);
    }

    /// Number of faults still queued.
    pub(crate) fn queued(&self) -> usize {
        lock(&self.state).queue.len()
    }

    /// The fault for the next send: the head of the queue, else a random draw, else none.
    pub(crate) fn next(&self) -> Option<Fault> {
        if !self.active.load(Ordering::Acquire) {
            return None;
        }
        let mut st = lock(&self.state);
        if let Some(f) = st.queue.pop_front() {
            self.refresh(&st);
            return Some(f);
        }
        if st.rates.is_empty() {
            return None;
        }
        let mut draw = rand::rng().random_range(0..1000u32);
        for (fault, rate) in &st.rates {
            if draw < *rate {
                return Some(fault.clone());
            }
            draw -= rate;
        }
        None
    }
}

/// A response whose body fails at once: the server closes the connection and the client sees a
/// transport error instead of an answer.
pub(super) fn dropped_response() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("simulated connection drop"))
    });
    Response::new(Body::from_stream(stream))
}
