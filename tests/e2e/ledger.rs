//! End-to-end tests of the ledger's reads and upkeep: ListEligible pagination, filters and
//! exclusions, interactions, revocation and erasure.

use otn::v1::{self as pb, ExclusionReason, GrantState};
use otn_server::clock::Clock;
use otn_testkit::meta::{excluded as exclusion, opt_in_req};
use otn_testkit::{PAGE, reason, spawn_app, violated_fields};
use tonic::Code;

#[tokio::test]
async fn list_eligible_paginates_thousands_of_grants_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let n = 2_500;
    let mut joins = Vec::new();
    for w in 0..8 {
        let mut client = app.client.clone();
        joins.push(tokio::spawn(async move {
            for i in (w..n).step_by(8) {
                client
                    .record_opt_in(pb::RecordOptInRequest {
                        page_id: PAGE.into(),
                        psid: format!("p{i:05}"),
                        topic_key: "big-topic".into(),
                        token: format!("tok-{i}"),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
            }
        }));
    }
    for j in joins {
        j.await.unwrap();
    }
    let mut app = app;
    let mut seen = std::collections::HashSet::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = app.list("big-topic", 1000, &token).await;
        assert_eq!(page.total_size, n as i64);
        pages += 1;
        for r in &page.recipients {
            assert!(
                seen.insert(r.recipient.as_ref().unwrap().psid.clone()),
                "repeated"
            );
            assert_eq!(r.grants.len(), 1);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), n);
}

#[tokio::test]
async fn a_page_token_is_bound_to_its_query() {
    let mut app = spawn_app().await;
    for i in 0..3 {
        app.opt_in(&format!("u{i}"), "topic-a", &format!("t{i}"))
            .await;
    }
    let first = app.list("topic-a", 1, "").await;
    assert!(!first.next_page_token.is_empty());
    let err = app
        .client
        .list_eligible(pb::ListEligibleRequest {
            include_total_size: true,
            page_id: PAGE.into(),
            topic_key: "topic-b".into(),
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["page_token"]);
    let err = app
        .client
        .list_eligible(pb::ListEligibleRequest {
            include_total_size: true,
            page_id: PAGE.into(),
            topic_key: "topic-a".into(),
            page_size: 1001,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["page_size"]);
}

#[tokio::test]
async fn list_eligible_filters_by_tags_and_region_and_explains_exclusions() {
    let mut app = spawn_app().await;
    let people = [
        ("a", &["vip", "red-wine"][..], "US"),
        ("b", &["red-wine"][..], "US"),
        ("c", &["white-wine"][..], "GB"),
        ("d", &[][..], ""),
    ];
    for (i, (psid, tags, region)) in people.iter().enumerate() {
        app.opt_in(psid, "wine", &format!("tok-{i}")).await;
        app.client
            .update_recipient(pb::UpdateRecipientRequest {
                page_id: PAGE.into(),
                psid: (*psid).into(),
                add_tags: tags.iter().map(|t| t.to_string()).collect(),
                region: Some(region.to_string()),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let query = |tag_filter: pb::TagFilter, regions: Vec<&str>| pb::ListEligibleRequest {
        include_total_size: true,
        page_id: PAGE.into(),
        topic_key: "wine".into(),
        tag_filter: Some(tag_filter),
        regions: regions.into_iter().map(String::from).collect(),
        explain_exclusions: true,
        ..Default::default()
    };
    let psids = |r: &pb::ListEligibleResponse| -> Vec<String> {
        r.recipients
            .iter()
            .map(|e| e.recipient.as_ref().unwrap().psid.clone())
            .collect()
    };
    let all_of = pb::TagFilter {
        all_of: vec!["red-wine".into(), "VIP".into()],
        ..Default::default()
    };
    let r = app
        .client
        .list_eligible(query(all_of, vec![]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(psids(&r), ["a"]);
    assert_eq!(exclusion(&r, ExclusionReason::TagFilter), 3);

    let any_of = pb::TagFilter {
        any_of: vec!["red-wine".into(), "white-wine".into()],
        none_of: vec!["vip".into()],
        ..Default::default()
    };
    let r = app
        .client
        .list_eligible(query(any_of, vec!["gb"]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(psids(&r), ["c"]);
    assert_eq!(r.total_size, 1);
    assert_eq!(exclusion(&r, ExclusionReason::TagFilter), 2);
    assert_eq!(exclusion(&r, ExclusionReason::RegionFilter), 1);

    let bad = pb::TagFilter {
        all_of: vec!["no spaces allowed".into()],
        ..Default::default()
    };
    let err = app
        .client
        .list_eligible(query(bad, vec!["GBR"]))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&err),
        ["tag_filter.all_of[0]", "regions[0]"]
    );
}

#[tokio::test]
async fn revoked_grants_leave_the_eligible_list_and_are_explained() {
    let mut app = spawn_app().await;
    let g1 = app.opt_in("u1", "topic-a", "t1").await;
    app.opt_in("u2", "topic-a", "t2").await;
    app.opt_in("u2", "topic-a", "t3").await;
    let r = app
        .client
        .revoke_grant(pb::RevokeGrantRequest {
            grant_id: g1.grant_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.revoked.len(), 1);
    assert_eq!(r.revoked[0].state, GrantState::Revoked as i32);
    let r = app
        .client
        .revoke_grant(pb::RevokeGrantRequest {
            page_id: PAGE.into(),
            psid: "u2".into(),
            topic_key: "topic-a".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.revoked.len(), 2);
    let l = app.eligible("topic-a").await;
    assert_eq!(l.total_size, 0);
    assert_eq!(exclusion(&l, ExclusionReason::Revoked), 2);

    let err = app
        .client
        .revoke_grant(pb::RevokeGrantRequest {
            grant_id: "999999".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(reason(&err), "GRANT_NOT_FOUND");
}

#[tokio::test]
async fn interactions_open_the_window_and_ignore_older_times() {
    let mut app = spawn_app().await;
    let now = app.clock.now();
    let r = app
        .client
        .record_interaction(pb::RecordInteractionRequest {
            page_id: PAGE.into(),
            psid: "u1".into(),
            kind: pb::InteractionKind::Postback as i32,
            interaction_time: Some(prost_types::Timestamp {
                seconds: now.timestamp(),
                nanos: 0,
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .recipient
        .unwrap();
    let last = r.last_interaction_time.unwrap().seconds;
    assert_eq!(r.window_close_time.unwrap().seconds - last, 24 * 3600);
    let older = app
        .client
        .record_interaction(pb::RecordInteractionRequest {
            page_id: PAGE.into(),
            psid: "u1".into(),
            kind: pb::InteractionKind::Message as i32,
            interaction_time: Some(prost_types::Timestamp {
                seconds: now.timestamp() - 3600,
                nanos: 0,
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .recipient
        .unwrap();
    assert_eq!(older.last_interaction_time.unwrap().seconds, last);
}

#[tokio::test]
async fn forget_recipient_erases_everything_about_the_person() {
    let mut app = spawn_app().await;
    app.interact("u1").await;
    app.client
        .request_opt_in(opt_in_req("r1", "u1", "Title"))
        .await
        .unwrap();
    app.opt_in("u1", "topic-a", "t1").await;
    app.opt_in("u2", "topic-a", "t2").await;
    let f = app
        .client
        .forget_recipient(pb::ForgetRecipientRequest {
            page_id: PAGE.into(),
            psid: "u1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(f.found);
    assert_eq!(f.grants_erased, 1);
    assert_eq!(f.opt_in_requests_erased, 1);
    let l = app.eligible("topic-a").await;
    assert_eq!(l.total_size, 1);
    assert!(l.exclusions.is_empty());
    let again = app
        .client
        .forget_recipient(pb::ForgetRecipientRequest {
            page_id: PAGE.into(),
            psid: "u1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!again.found);
    // The token is gone too: recording it again is a new grant, not a replay.
    let g = app
        .client
        .record_opt_in(pb::RecordOptInRequest {
            page_id: PAGE.into(),
            psid: "u1".into(),
            topic_key: "topic-a".into(),
            token: "t1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!g.replayed);
}
