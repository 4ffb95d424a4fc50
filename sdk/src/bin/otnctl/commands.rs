//! The opt-ins, notifications and events subcommands.

use futures::StreamExt;
use otn_sdk::{Client, Error, Progress, proto as pb};

use crate::cli::{Events, Kind, Notifications, OptIns};
use crate::json;
use crate::output::Out;

fn opt(s: Option<String>) -> String {
    s.unwrap_or_default()
}

fn time(t: &Option<otn_sdk::prost_types::Timestamp>) -> String {
    t.as_ref()
        .map(|t| t.to_string())
        .unwrap_or_else(|| "-".into())
}

fn grant_rows(grants: &[pb::Grant]) -> Vec<Vec<String>> {
    grants
        .iter()
        .map(|g| {
            vec![
                g.grant_id.clone(),
                g.psid.clone(),
                g.topic_key.clone(),
                json::grant_kind(g.kind),
                json::grant_state(g.state),
                time(&g.expire_time),
            ]
        })
        .collect()
}

const GRANT_HEADERS: [&str; 6] = ["GRANT", "PSID", "TOPIC", "KIND", "STATE", "EXPIRES"];

pub(crate) async fn opt_ins(client: &Client, out: Out, cmd: OptIns) -> Result<(), Error> {
    match cmd {
        OptIns::Record {
            page,
            psid,
            topic,
            token,
            kind,
        } => {
            let kind = match kind {
                Kind::OneTime => pb::GrantKind::OneTimeNotification,
                Kind::Marketing => pb::GrantKind::MarketingMessages,
            };
            let resp = client
                .record_opt_in(pb::RecordOptInRequest {
                    page_id: page,
                    psid,
                    topic_key: topic,
                    token,
                    kind: kind as i32,
                    ..Default::default()
                })
                .await?;
            let g = resp.grant.unwrap_or_default();
            if out.is_json() {
                out.json(
                    &serde_json::json!({ "grant": json::grant(&g), "replayed": resp.replayed }),
                );
            } else {
                out.table(&GRANT_HEADERS, &grant_rows(std::slice::from_ref(&g)));
                if resp.replayed {
                    out.line("(already recorded: nothing changed)");
                }
            }
        }
        OptIns::List {
            page,
            topic,
            tags,
            any_tags,
            regions,
            page_size,
            all,
            explain,
        } => {
            let tag_filter = (!tags.is_empty() || !any_tags.is_empty()).then(|| pb::TagFilter {
                all_of: tags,
                any_of: any_tags,
                none_of: vec![],
            });
            let req = pb::ListEligibleRequest {
                page_id: page,
                topic_key: topic,
                tag_filter,
                regions,
                page_size: page_size.unwrap_or(0),
                explain_exclusions: explain,
                include_total_size: true,
                ..Default::default()
            };
            let list = match all {
                true => client.list_all_eligible(req).await?,
                false => client.list_eligible(req).await?,
            };
            print_list(out, &list);
        }
        OptIns::Revoke {
            grant,
            page,
            psid,
            topic,
        } => {
            let resp = client
                .revoke_grant(pb::RevokeGrantRequest {
                    grant_id: opt(grant),
                    page_id: opt(page),
                    psid: opt(psid),
                    topic_key: opt(topic),
                })
                .await?;
            if out.is_json() {
                let revoked: Vec<_> = resp.revoked.iter().map(json::grant).collect();
                out.json(&serde_json::json!({ "revoked": revoked }));
            } else {
                out.line(&format!("revoked {} grant(s)", resp.revoked.len()));
                if !resp.revoked.is_empty() {
                    out.table(&GRANT_HEADERS, &grant_rows(&resp.revoked));
                }
            }
        }
    }
    Ok(())
}

fn print_list(out: Out, list: &pb::ListEligibleResponse) {
    if out.is_json() {
        out.json(&json::eligible(list));
        return;
    }
    let rows: Vec<Vec<String>> = list
        .recipients
        .iter()
        .map(|r| {
            let who = r.recipient.clone().unwrap_or_default();
            let first = r.grants.first().cloned().unwrap_or_default();
            vec![
                who.psid,
                who.tags.join(","),
                who.region,
                r.grants.len().to_string(),
                first.grant_id,
                time(&first.expire_time),
            ]
        })
        .collect();
    out.table(
        &["PSID", "TAGS", "REGION", "GRANTS", "NEXT GRANT", "EXPIRES"],
        &rows,
    );
    let mut summary = format!(
        "{} shown, {} eligible in all",
        list.recipients.len(),
        list.total_size
    );
    if !list.next_page_token.is_empty() {
        summary.push_str(" (more: --all)");
    }
    out.line(&summary);
    for e in &list.exclusions {
        out.line(&format!(
            "  excluded {}: {}",
            json::exclusion(e.reason),
            e.count
        ));
    }
}

/// The readable form of a notification.
pub(crate) fn show_notification(out: Out, n: &pb::Notification) {
    if out.is_json() {
        out.json(&json::notification(n));
        return;
    }
    let plan = n.plan.clone().unwrap_or_default();
    let mut pairs = vec![
        ("notification", n.notification_id.clone()),
        ("state", json::notification_state(n.state)),
        ("page", n.page_id.clone()),
        ("topic", n.topic_key.clone()),
        ("request id", n.request_id.clone()),
        (
            "plan",
            format!(
                "{} by grant, {} in window, {} by tag",
                plan.grant_sends, plan.window_sends, plan.tag_sends
            ),
        ),
        ("progress", Progress::of(n).to_string()),
        ("created", time(&n.create_time)),
        ("scheduled", time(&n.scheduled_time)),
    ];
    if n.complete_time.is_some() {
        pairs.push(("completed", time(&n.complete_time)));
    }
    if plan.deferred_by_frequency_cap + plan.deferred_by_quiet_hours > 0 {
        pairs.push((
            "deferred",
            format!(
                "{} by the frequency cap, {} by quiet hours",
                plan.deferred_by_frequency_cap, plan.deferred_by_quiet_hours
            ),
        ));
    }
    if !n.paused_reason.is_empty() {
        pairs.push(("paused", n.paused_reason.clone()));
    }
    for e in &plan.exclusions {
        pairs.push((
            "excluded",
            format!("{} {}", json::exclusion(e.reason), e.count),
        ));
    }
    out.fields(&pairs);
}

pub(crate) async fn notifications(
    client: &Client,
    out: Out,
    cmd: Notifications,
) -> Result<(), Error> {
    match cmd {
        Notifications::Show { id } => {
            let n = client.get_notification(id).await?;
            show_notification(out, &n);
        }
        Notifications::ResumePage { page } => {
            let r = client.resume_page(page).await?;
            if out.is_json() {
                out.json(&serde_json::json!({
                    "resumed": r.resumed,
                    "paused_reason": r.paused_reason,
                }));
            } else {
                out.line(match r.resumed {
                    true => "resumed: the circuit breaker is reset",
                    false => "the page's circuit breaker had not tripped",
                });
                if !r.paused_reason.is_empty() {
                    out.line(&format!("still paused: {}", r.paused_reason));
                }
            }
        }
        Notifications::Cancel { id } => {
            let resp = client.cancel_notification(id).await?;
            let n = resp.notification.unwrap_or_default();
            if out.is_json() {
                out.json(&serde_json::json!({
                    "notification": json::notification(&n),
                    "cancelled_deliveries": resp.cancelled_deliveries,
                }));
            } else {
                show_notification(out, &n);
                out.line(&format!(
                    "cancelled deliveries: {}",
                    resp.cancelled_deliveries
                ));
            }
        }
    }
    Ok(())
}

fn event_row(e: &pb::DeliveryEvent) -> String {
    let mut s = format!(
        "{:>6}  {}  {:<16}  {}",
        e.sequence,
        time(&e.event_time),
        json::event_type(e.r#type),
        e.page_id
    );
    for (k, v) in [
        ("topic", &e.topic_key),
        ("notification", &e.notification_id),
        ("psid", &e.psid),
        ("grant", &e.grant_id),
        ("rule", &e.rule),
    ] {
        if !v.is_empty() {
            s.push_str(&format!("  {k}={v}"));
        }
    }
    if e.path != 0 {
        s.push_str(&format!("  path={}", json::path(e.path)));
    }
    if let Some(f) = &e.failure {
        s.push_str(&format!("  failure={} ({})", f.reason, f.message));
    }
    s
}

pub(crate) async fn events(client: &Client, out: Out, cmd: Events) -> Result<(), Error> {
    let Events::Tail {
        page,
        topic,
        notification,
        after,
        from_now,
        limit,
    } = cmd;
    let mut b = client.events();
    if let Some(p) = page {
        b = b.page(p);
    }
    if let Some(t) = topic {
        b = b.topic(t);
    }
    if let Some(n) = notification {
        b = b.notification(n);
    }
    b = match (from_now, after) {
        (true, _) => b.from_now(),
        (false, a) => b.after(a.unwrap_or(0)),
    };
    let stream = b.subscribe();
    let mut stream = stream.take(limit.unwrap_or(usize::MAX));
    while let Some(event) = stream.next().await {
        let event = event?;
        match out.is_json() {
            true => out.json(&json::event(&event)),
            false => out.line(&event_row(&event)),
        }
    }
    Ok(())
}
