//! The service at its edges, driven the way an attacker or a careless caller would: requests
//! past every bound, unknown methods, forged and revoked credentials, replayed and implausible
//! webhooks, resources of other pages, the sandbox asked to serve a real database. Each test
//! fails on the release these attacks broke (issue 18).

mod credentials;
mod requests;
mod sandbox;
mod webhooks;
