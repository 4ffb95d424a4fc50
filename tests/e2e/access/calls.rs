//! The calls the access tests make: every RPC once, and small requests.

use otn::v1 as pb;
use otn_testkit::{Client, PAGE};
use tonic::Code;

/// Metadata value of the ErrorInfo of `status` under `key`.
pub(super) fn info(status: &tonic::Status, key: &str) -> String {
    use tonic_types::StatusExt;
    status
        .get_error_details()
        .error_info()
        .and_then(|i| i.metadata.get(key).cloned())
        .unwrap_or_default()
}

pub(super) fn send_req(id: &str, page: &str) -> pb::SendNotificationRequest {
    pb::SendNotificationRequest {
        request_id: id.into(),
        page_id: page.into(),
        topic_key: "t".into(),
        content: Some(pb::Content {
            body: Some(pb::content::Body::Text("Back in stock".into())),
        }),
        ..Default::default()
    }
}

pub(super) fn opt_in_req(page: &str, psid: &str) -> pb::RecordOptInRequest {
    pb::RecordOptInRequest {
        page_id: page.into(),
        psid: psid.into(),
        topic_key: "t".into(),
        token: format!("tok-{psid}"),
        ..Default::default()
    }
}

/// The code of each RPC called once with `c` (whatever it answers).
pub(super) async fn codes_of_every_rpc(c: &Client) -> Vec<(&'static str, Code)> {
    let code = |r: Result<(), tonic::Status>| r.map_or_else(|s| s.code(), |()| Code::Ok);
    let mut c = c.clone();
    let mut out = Vec::new();
    macro_rules! call {
        ($name:literal, $e:expr) => {
            out.push(($name, code($e.await.map(|_| ()))));
        };
    }
    call!(
        "RequestOptIn",
        c.request_opt_in(otn_testkit::meta::opt_in_req("r", "p", "Back"))
    );
    call!("RecordOptIn", c.record_opt_in(opt_in_req(PAGE, "every")));
    call!(
        "ListEligible",
        c.list_eligible(pb::ListEligibleRequest {
            page_id: PAGE.into(),
            topic_key: "t".into(),
            ..Default::default()
        })
    );
    call!(
        "RecordInteraction",
        c.record_interaction(pb::RecordInteractionRequest {
            page_id: PAGE.into(),
            psid: "p".into(),
            kind: pb::InteractionKind::Message as i32,
            ..Default::default()
        })
    );
    call!(
        "UpdateRecipient",
        c.update_recipient(pb::UpdateRecipientRequest {
            page_id: PAGE.into(),
            psid: "p".into(),
            add_tags: vec!["vip".into()],
            ..Default::default()
        })
    );
    call!(
        "RevokeGrant",
        c.revoke_grant(pb::RevokeGrantRequest {
            page_id: PAGE.into(),
            psid: "p".into(),
            topic_key: "t".into(),
            ..Default::default()
        })
    );
    call!(
        "AssignGrant",
        c.assign_grant(pb::AssignGrantRequest {
            grant_id: "999999".into(),
            topic_key: "t".into(),
            ..Default::default()
        })
    );
    call!(
        "ForgetRecipient",
        c.forget_recipient(pb::ForgetRecipientRequest {
            page_id: PAGE.into(),
            psid: "nobody".into()
        })
    );
    call!(
        "SendNotification",
        c.send_notification(send_req("every", PAGE))
    );
    call!(
        "GetNotification",
        c.get_notification(pb::GetNotificationRequest {
            notification_id: "0190".into()
        })
    );
    call!(
        "CancelNotification",
        c.cancel_notification(pb::CancelNotificationRequest {
            notification_id: "0190".into()
        })
    );
    call!(
        "ListNotifications",
        c.list_notifications(pb::ListNotificationsRequest {
            page_id: PAGE.into(),
            ..Default::default()
        })
    );
    call!(
        "StreamDeliveryEvents",
        c.stream_delivery_events(pb::StreamDeliveryEventsRequest::default())
    );
    out
}
