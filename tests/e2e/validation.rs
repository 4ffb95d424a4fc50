//! The shared validation cases against the server: it refuses exactly the fields each case names,
//! with INVALID_ARGUMENT, and changes nothing (the Rust SDK runs the same table client-side).

use otn_testkit::cases::{self, Request};
use otn_testkit::{spawn_app, violated_fields};

#[tokio::test]
async fn the_server_refuses_exactly_the_fields_of_every_validation_case() {
    let mut app = spawn_app().await;
    for case in cases::all() {
        let result = match case.request.clone() {
            Request::Send(mut r) => {
                r.options.get_or_insert_default().dry_run = true;
                app.client.send_notification(r).await.map(|_| ())
            }
            Request::OptIn(r) => app.client.request_opt_in(r).await.map(|_| ()),
            Request::ListEligible(r) => app.client.list_eligible(r).await.map(|_| ()),
        };
        match result {
            // A valid request reaches the use case: the case's page is not configured.
            Ok(()) => panic!("{}: a request on an unknown page was accepted", case.name),
            Err(s) if s.code() == tonic::Code::InvalidArgument => {
                assert_eq!(violated_fields(&s), case.violations, "{}", case.name);
            }
            Err(s) => {
                assert!(case.violations.is_empty(), "{}: {s:?}", case.name);
                assert_eq!(s.code(), tonic::Code::NotFound, "{}: {s:?}", case.name);
            }
        }
    }
}
