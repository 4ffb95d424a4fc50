//! Everything that speaks Messenger: the Graph API client, webhook parsing and signatures, the
//! webhook HTTP endpoint, and the simulator.

pub mod graph;
pub mod http;
pub mod signature;
pub mod simulator;
pub mod webhook;
