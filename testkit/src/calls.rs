//! The calls tests make over and over, as methods of [`TestApp`]: wait for a notification,
//! record many opt-ins, send, list.

use std::time::Duration;

use otn::v1 as pb;
use otn_server::clock::Clock;

use crate::{PAGE, TestApp};

impl TestApp {
    /// GetNotification.
    pub async fn notification(&mut self, id: &str) -> pb::Notification {
        self.client
            .get_notification(pb::GetNotificationRequest {
                notification_id: id.into(),
            })
            .await
            .expect("get notification")
            .into_inner()
            .notification
            .expect("notification")
    }

    /// Polls GetNotification until it is final (completed or cancelled), at most 60 s.
    pub async fn wait_final(&mut self, id: &str) -> pb::Notification {
        use pb::NotificationState as S;
        let client = self.client.clone();
        crate::eventually("notification final", Duration::from_secs(60), || {
            let mut client = client.clone();
            async move {
                let n = client
                    .get_notification(pb::GetNotificationRequest {
                        notification_id: id.into(),
                    })
                    .await
                    .map_err(|e| e.to_string())?
                    .into_inner()
                    .notification
                    .ok_or("no notification")?;
                match n.state == S::Completed as i32 || n.state == S::Cancelled as i32 {
                    true => Ok(n),
                    false => Err(format!("{n:?}")),
                }
            }
        })
        .await
    }

    /// Polls GetNotification until its counts satisfy `ok`, at most 20 s.
    pub async fn wait_counts(
        &mut self,
        id: &str,
        ok: impl Fn(&pb::DeliveryCounts) -> bool,
    ) -> pb::DeliveryCounts {
        let client = self.client.clone();
        let ok = &ok;
        crate::eventually("delivery counts", Duration::from_secs(20), || {
            let mut client = client.clone();
            async move {
                let c = client
                    .get_notification(pb::GetNotificationRequest {
                        notification_id: id.into(),
                    })
                    .await
                    .map_err(|e| e.to_string())?
                    .into_inner()
                    .notification
                    .and_then(|n| n.counts)
                    .ok_or("no counts")?;
                match ok(&c) {
                    true => Ok(c),
                    false => Err(format!("{c:?}")),
                }
            }
        })
        .await
    }

    /// Records `n` one-time grants on `topic` for people `{prefix}00000`.., with tokens the
    /// simulator issued; person `i` opted in `n - i` seconds ago (lower numbers are older).
    pub async fn opt_in_many(&self, topic: &str, prefix: &str, n: usize) -> Vec<String> {
        let psid = |i: usize| format!("{prefix}{i:05}");
        let tokens: Vec<String> = (0..n)
            .map(|i| self.sim().issue_otn_token(PAGE, &psid(i)))
            .collect();
        let now_s = self.clock.now_ms() / 1000;
        let mut joins = Vec::new();
        for w in 0..8 {
            let mut client = self.client.clone();
            let topic = topic.to_string();
            let tokens = tokens.clone();
            let prefix = prefix.to_string();
            joins.push(tokio::spawn(async move {
                // Stride 8 from a different start per worker: row ids do not follow opt-in times.
                for i in (w..tokens.len()).step_by(8).rev() {
                    client
                        .record_opt_in(pb::RecordOptInRequest {
                            page_id: PAGE.into(),
                            psid: format!("{prefix}{i:05}"),
                            topic_key: topic.clone(),
                            token: tokens[i].clone(),
                            opt_in_time: Some(prost_types::Timestamp {
                                seconds: now_s - (tokens.len() - i) as i64,
                                nanos: 0,
                            }),
                            ..Default::default()
                        })
                        .await
                        .expect("record opt-in");
                }
            }));
        }
        for j in joins {
            j.await.expect("opt-in task");
        }
        tokens
    }

    /// Sends a notification with a text and these options.
    pub async fn send(
        &mut self,
        request_id: &str,
        topic: &str,
        options: pb::SendOptions,
    ) -> pb::Notification {
        self.client
            .send_notification(pb::SendNotificationRequest {
                request_id: request_id.into(),
                page_id: PAGE.into(),
                topic_key: topic.into(),
                audience: None,
                content: Some(pb::Content {
                    body: Some(pb::content::Body::Text(
                        "Good news: it is back in stock".into(),
                    )),
                }),
                options: Some(options),
            })
            .await
            .expect("send notification")
            .into_inner()
            .notification
            .expect("notification")
    }

    /// ListEligible on the test page for `topic`, with exclusions explained and the total.
    pub async fn eligible(&mut self, topic: &str) -> pb::ListEligibleResponse {
        self.client
            .list_eligible(pb::ListEligibleRequest {
                page_id: PAGE.into(),
                topic_key: topic.into(),
                explain_exclusions: true,
                include_total_size: true,
                ..Default::default()
            })
            .await
            .expect("list eligible")
            .into_inner()
    }

    /// One page of ListEligible (with the total) after `token`.
    pub async fn list(
        &mut self,
        topic: &str,
        page_size: i32,
        token: &str,
    ) -> pb::ListEligibleResponse {
        self.client
            .list_eligible(pb::ListEligibleRequest {
                page_id: PAGE.into(),
                topic_key: topic.into(),
                page_size,
                page_token: token.into(),
                include_total_size: true,
                ..Default::default()
            })
            .await
            .expect("list eligible")
            .into_inner()
    }

    /// Every event of notification `id` so far, in order: the whole log read from the start up
    /// to the head committed before the call, then until it has been quiet for 1.5 s.
    pub async fn events_of(&mut self, id: &str) -> Vec<pb::DeliveryEvent> {
        // Every event committed so far is numbered at or below the head before the stream
        // opens: read the whole log up to the head (however slowly a loaded machine replays
        // it), then what is quiet for 1.5 s after that.
        let head = self
            .running
            .last_event_sequence()
            .await
            .expect("event head");
        let mut stream = self
            .client
            .stream_delivery_events(pb::StreamDeliveryEventsRequest::default())
            .await
            .expect("stream")
            .into_inner();
        let mut out = Vec::new();
        let mut seen = 0;
        loop {
            let wait = match seen >= head {
                true => Duration::from_millis(1_500),
                false => Duration::from_secs(60),
            };
            let Ok(next) = tokio::time::timeout(wait, stream.message()).await else {
                assert!(
                    seen >= head,
                    "the log stalled at {seen} before its head {head}"
                );
                break;
            };
            let Some(r) = next.expect("stream open") else {
                break;
            };
            for e in r.event.into_iter().chain(r.events) {
                seen = seen.max(e.sequence);
                if e.notification_id == id {
                    out.push(e);
                }
            }
        }
        out
    }
}
