//! The code of the runnable examples in `sdk/examples/`, here so the SDK's tests run exactly what the examples run.
//!
//! Each example binary is a thin `main` that reads `OTN_URL` (default
//! `http://127.0.0.1:50051`), `OTN_API_KEY` and `OTN_PAGE` (default `sandbox-page`) and calls `run`.

pub mod back_in_stock;
pub mod dashboard_tail;
pub mod price_drop;
#[cfg(feature = "cli")]
pub mod sandbox;

/// The error type of the examples.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The server URL: `OTN_URL`, or [`crate::DEFAULT_URL`].
pub fn url_from_env() -> String {
    std::env::var("OTN_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| crate::DEFAULT_URL.to_string())
}

/// The API key: `OTN_API_KEY` (a sandbox server accepts calls without one).
pub fn key_from_env() -> Option<String> {
    std::env::var("OTN_API_KEY").ok().filter(|k| !k.is_empty())
}

/// The page: `OTN_PAGE`, or `sandbox-page` (the page a server without configuration serves).
pub fn page_from_env() -> String {
    std::env::var("OTN_PAGE")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "sandbox-page".to_string())
}

/// The `n`th command-line argument, or `default`.
pub fn arg(n: usize, default: &str) -> String {
    std::env::args()
        .nth(n)
        .unwrap_or_else(|| default.to_string())
}
