//! The otn gRPC contract: messages, client and server stubs generated from proto/otn/v1, and its
//! input rules (the limits table and the checks that read it).
//!
//! The `client` and `server` features select which stubs are generated. tonic and prost are
//! re-exported so the server and SDK always build against the same versions. [`limits`] is
//! generated from `proto/otn/v1/limits.json`, the one table of the contract's numbers that the
//! Python and TypeScript clients generate theirs from too; [`rules`] holds the checks the server
//! applies and the Rust SDK applies before sending.

pub use prost;
pub use prost_types;
pub use tonic;

/// Package `otn.v1`.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("otn.v1");

    /// The ErrorInfo domain of every error the service returns.
    pub const ERROR_DOMAIN: &str = "otn.v1";

    impl ErrorReason {
        /// The reason string carried in google.rpc.ErrorInfo: the name without its prefix.
        pub fn reason(self) -> &'static str {
            let name = self.as_str_name();
            name.strip_prefix("ERROR_REASON_").unwrap_or(name)
        }

        /// Parses a reason string from ErrorInfo.
        pub fn from_reason(reason: &str) -> Option<Self> {
            Self::from_str_name(&format!("ERROR_REASON_{reason}"))
        }
    }
}

/// The contract's input limits (generated from `proto/otn/v1/limits.json`).
pub mod limits {
    include!(concat!(env!("OUT_DIR"), "/limits.rs"));
}

pub mod rules;

/// The encoded file descriptor set of the contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/otn_descriptor.bin"));

/// The encoded descriptors of `google/protobuf/any.proto` and `duration.proto`, which the
/// `google.rpc` error details import: served by reflection so a generic client can decode them.
pub const WELL_KNOWN_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/wkt_descriptor.bin"));
