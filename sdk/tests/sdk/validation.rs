//! The shared validation cases, judged locally by the SDK: exactly the fields the server refuses
//! (`tests/e2e/validation.rs` runs the same table against the server).

use otn_testkit::cases::{self, Request};

#[test]
fn the_sdk_refuses_exactly_the_fields_of_every_validation_case() {
    for case in cases::all() {
        let result = match &case.request {
            Request::Send(r) => otn_sdk::validate::send_request(r),
            Request::OptIn(r) => otn_sdk::validate::opt_in_request(r),
            Request::ListEligible(r) => otn_sdk::validate::list_eligible_request(r),
        };
        let fields: Vec<String> = match result {
            Ok(()) => Vec::new(),
            Err(e) => e
                .field_violations()
                .iter()
                .map(|v| v.field.clone())
                .collect(),
        };
        assert_eq!(fields, case.violations, "{}", case.name);
    }
}
