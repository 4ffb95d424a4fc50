//! The funnel toward the wire: GetFunnel's response (the console maps the same message to JSON).

use otn::v1 as pb;

use crate::domain::funnel::{Counts, Funnel, FunnelStep as S, date_of};
use crate::error::Result;
use crate::service::FunnelQuery;

/// A GetFunnel request as the use case's query (the console asks with the same fields).
pub(crate) fn query(r: &pb::GetFunnelRequest) -> Result<FunnelQuery> {
    super::requests::funnel_query(r)
}

/// The counts of a funnel.
pub(crate) fn counts(c: &Counts) -> pb::FunnelCounts {
    pb::FunnelCounts {
        opt_in_requests: c.get(S::OptInRequested),
        opt_ins: c.get(S::OptedIn),
        grants_used: c.get(S::GrantUsed),
        sent: c.get(S::Sent),
        delivered: c.get(S::Delivered),
        read: c.get(S::Read),
        engaged: c.get(S::Engaged),
        engaged_message: c.get(S::EngagedMessage),
        engaged_postback: c.get(S::EngagedPostback),
        clicked: c.get(S::Clicked),
        queued: c.get(S::Queued),
        failed: c.get(S::Failed),
        unconfirmed: c.get(S::Unconfirmed),
        cancelled: c.get(S::Cancelled),
        grants_expired: c.get(S::GrantExpired),
        grants_stopped: c.get(S::GrantStopped),
        grants_resumed: c.get(S::GrantResumed),
        grants_revoked: c.get(S::GrantRevoked),
    }
}

/// The rates of a funnel's counts.
pub(crate) fn rates(c: &Counts) -> pb::FunnelRates {
    let r = c.rates();
    pb::FunnelRates {
        opt_in_rate: r.opt_in,
        use_rate: r.use_,
        send_rate: r.send,
        delivery_rate: r.delivery,
        read_rate: r.read,
        engagement_rate: r.engagement,
        click_rate: r.click,
    }
}

/// GetFunnel's response.
pub(crate) fn funnel(f: &Funnel) -> pb::GetFunnelResponse {
    pb::GetFunnelResponse {
        page_id: f.page_id.clone(),
        topic_key: f.topic_key.clone(),
        notification_id: f.notification_id.clone().unwrap_or_default(),
        start_date: date_of(f.first_day),
        end_date: date_of(f.last_day),
        counts: Some(counts(&f.total)),
        rates: Some(rates(&f.total)),
        days: f
            .days
            .iter()
            .map(|(day, c)| pb::FunnelDay {
                date: date_of(*day),
                counts: Some(counts(c)),
                rates: Some(rates(c)),
            })
            .collect(),
    }
}
