//! The store's tests, on SQLite always and on PostgreSQL too when `OTN_TEST_DATABASE_URL` is set
//! (a test that needs PostgreSQL is `#[ignore]`d with that reason, so it is listed, never
//! silently passed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod echoes;
mod interleavings;
mod pacing;
mod repository;
mod stream;
