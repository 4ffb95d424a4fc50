//! The event log's live side: a wake-up bus that tells subscribers "new events are committed"
//! (in-process, and across replicas through PostgreSQL NOTIFY), and the subscriber streams.

pub mod bus;
pub mod listener;
pub mod stream;
