//! `list_eligible`: ListEligible pages of 100 through gRPC beside the same statements run directly on the database, at N bulk-loaded grants; EXPLAIN of the hot queries.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use otn::v1::{
    ListEligibleRequest, TagFilter, notification_service_client::NotificationServiceClient,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::Size;
use crate::env::{BENCH_PAGE, Db, Server};
use crate::load::{self, ACTIVE};
use crate::measure::pct_ms;
use crate::plans;
use crate::report::{Figure, Scenario};
use crate::twin;

pub const TOPIC: &str = "bench:list";
const PAGE_SIZE: i64 = 100;

/// The ListEligible statements as `store::eligible` builds them (no region filter; optional
/// `any_of` tag filter), with `?` placeholders.
pub struct Sqls {
    pub list: String,
    pub count: String,
    tags: &'static str,
    grants: &'static str,
}

impl Sqls {
    pub fn new(tag: Option<&str>) -> Self {
        let filter = match tag {
            Some(_) => {
                " AND (1 = 1 AND EXISTS (SELECT 1 FROM recipient_tags x WHERE x.recipient_id = r.id AND x.tag IN (?)))"
            }
            None => "",
        };
        let from = format!(
            " FROM grants g JOIN recipients r ON r.id = g.recipient_id WHERE g.topic_id = ? AND \
             g.state = ? AND (g.expires_at IS NULL OR g.expires_at > ?){filter} AND 1 = 1"
        );
        Sqls {
            list: format!(
                "SELECT r.id, r.psid, r.region, r.last_interaction_at FROM recipients r \
                 WHERE r.id IN (SELECT g.recipient_id{from} AND g.recipient_id > ? \
                 ORDER BY g.recipient_id LIMIT ?) ORDER BY r.id"
            ),
            count: format!("SELECT COUNT(DISTINCT g.recipient_id) AS n{from}"),
            tags: "SELECT recipient_id, tag FROM recipient_tags WHERE recipient_id IN ({}) ORDER BY recipient_id, tag",
            grants: "SELECT g.id, g.page_id, r.psid, t.topic_key, g.kind, g.payload, \
                     g.opted_in_at, g.expires_at, g.state, g.state_changed_at \
                     FROM grants g JOIN recipients r ON r.id = g.recipient_id JOIN topics t ON t.id = g.topic_id \
                     WHERE r.id IN ({}) AND g.topic_id = ? AND g.state = ? AND (g.expires_at IS NULL OR g.expires_at > ?) \
                     ORDER BY r.id, g.expires_at, g.id",
        }
    }

    /// Values of the FROM/WHERE part.
    pub fn from_values(topic_id: i64, now: i64, tag: Option<&str>) -> Vec<Value> {
        let mut v: Vec<Value> = vec![topic_id.into(), ACTIVE.into(), now.into()];
        if let Some(t) = tag {
            v.push(t.into());
        }
        v
    }
}

fn stmt(raw: &DatabaseConnection, sql: &str, values: Vec<Value>) -> Statement {
    let b = raw.get_database_backend();
    Statement::from_sql_and_values(b, otn_server::store::placeholders(b, sql), values)
}

fn marks(n: usize) -> String {
    vec!["?"; n.max(1)].join(", ")
}

/// One raw page: what the RPC runs, in the same order. Returns (psids, next cursor, total,
/// time of the list statement, time of the count statement).
async fn raw_page(
    raw: &DatabaseConnection,
    sqls: &Sqls,
    tag: Option<&str>,
    after: i64,
) -> Result<(Vec<String>, i64, i64, Duration, Duration)> {
    let now = crate::measure::now_ms();
    let topic = raw
        .query_one_raw(stmt(
            raw,
            "SELECT id FROM topics WHERE page_id = ? AND topic_key = ?",
            vec![BENCH_PAGE.into(), TOPIC.into()],
        ))
        .await?;
    let Some(topic) = topic else {
        bail!("no topic")
    };
    let topic_id: i64 = topic.try_get("", "id")?;
    let t = Instant::now();
    let mut v = Sqls::from_values(topic_id, now, tag);
    v.push(after.into());
    v.push((PAGE_SIZE + 1).into());
    let rows = raw.query_all_raw(stmt(raw, &sqls.list, v)).await?;
    let list_time = t.elapsed();
    let mut ids = Vec::with_capacity(rows.len());
    let mut psids = Vec::with_capacity(rows.len());
    for r in &rows {
        ids.push(r.try_get::<i64>("", "id")?);
        psids.push(r.try_get::<String>("", "psid")?);
    }
    if !ids.is_empty() {
        let idv: Vec<Value> = ids.iter().map(|i| Value::from(*i)).collect();
        raw.query_all_raw(stmt(
            raw,
            &sqls.tags.replace("{}", &marks(ids.len())),
            idv.clone(),
        ))
        .await?;
        let mut gv = idv;
        gv.extend([topic_id.into(), ACTIVE.into(), now.into()]);
        raw.query_all_raw(stmt(raw, &sqls.grants.replace("{}", &marks(ids.len())), gv))
            .await?;
    }
    let t = Instant::now();
    let row = raw
        .query_one_raw(stmt(
            raw,
            &sqls.count,
            Sqls::from_values(topic_id, now, tag),
        ))
        .await?;
    let count_time = t.elapsed();
    let total: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    psids.truncate(PAGE_SIZE as usize);
    ids.truncate(PAGE_SIZE as usize);
    let next = if rows.len() as i64 > PAGE_SIZE {
        ids.last().copied().unwrap_or(0)
    } else {
        0
    };
    Ok((psids, next, total, list_time, count_time))
}

/// Walks both paginations side by side for `samples` pages, alternating raw and RPC.
async fn measure(
    srv: &Server,
    twin: &mut NotificationServiceClient<Channel>,
    raw: &DatabaseConnection,
    tag: Option<&str>,
    samples: usize,
    s: &mut Scenario,
) -> Result<()> {
    let sqls = Sqls::new(tag);
    let mut client = srv.client();
    let (mut after, mut token) = (0i64, String::new());
    let (mut raw_lat, mut rpc_lat, mut list_lat, mut count_lat) = (vec![], vec![], vec![], vec![]);
    let mut twin_lat = vec![];
    for i in 0..samples {
        let t = Instant::now();
        let (psids, next, total, lt, ct) = raw_page(raw, &sqls, tag, after).await?;
        raw_lat.push(t.elapsed());
        list_lat.push(lt);
        count_lat.push(ct);
        let request = ListEligibleRequest {
            page_id: BENCH_PAGE.into(),
            topic_key: TOPIC.into(),
            tag_filter: tag.map(|t| TagFilter {
                any_of: vec![t.to_string()],
                ..Default::default()
            }),
            page_size: PAGE_SIZE as i32,
            page_token: token.clone(),
            ..Default::default()
        };
        let t = Instant::now();
        twin.list_eligible(request.clone()).await?;
        twin_lat.push(t.elapsed());
        let t = Instant::now();
        let resp = client.list_eligible(request).await?.into_inner();
        rpc_lat.push(t.elapsed());
        let got: Vec<String> = resp
            .recipients
            .iter()
            .filter_map(|e| e.recipient.as_ref().map(|r| r.psid.clone()))
            .collect();
        if got != psids || resp.total_size != total {
            bail!(
                "page {i}: ListEligible and the raw SQL disagree ({} vs {} people, total {} vs {total}): \
                 the bench's copy of the SQL no longer matches store/eligible.rs",
                got.len(),
                psids.len(),
                resp.total_size
            );
        }
        (after, token) = match next {
            0 => (0, String::new()),
            n => (n, resp.next_page_token),
        };
    }
    for v in [
        &mut raw_lat,
        &mut rpc_lat,
        &mut list_lat,
        &mut count_lat,
        &mut twin_lat,
    ] {
        v.sort_unstable();
    }
    let what = match tag {
        Some(t) => format!("ListEligible any_of {t}"),
        None => "ListEligible".to_string(),
    };
    s.figures.push(Figure::new(
        &format!("{what} page of 100, p50"),
        "ms",
        pct_ms(&rpc_lat, 0.5),
        pct_ms(&raw_lat, 0.5),
        "same SQL, direct",
    ));
    let (p99, raw99) = (pct_ms(&rpc_lat, 0.99), pct_ms(&raw_lat, 0.99));
    s.figures.push(
        Figure::new(
            &format!("{what} page of 100, p99"),
            "ms",
            p99,
            raw99,
            "same SQL, direct",
        )
        .target("p99 ≤ baseline + 1 ms", p99 <= raw99 + 1.0),
    );
    s.figures.push(Figure::new(
        "  same, TCP_NODELAY twin, p99 (diagnostic)",
        "ms",
        pct_ms(&twin_lat, 0.99),
        raw99,
        "same SQL, direct",
    ));
    s.notes.push(format!(
        "{what}: of the direct p50/p99 ({:.2}/{:.2} ms), the list statement takes {:.2}/{:.2} ms \
         and the total_size COUNT {:.2}/{:.2} ms ({samples} pages)",
        pct_ms(&raw_lat, 0.5),
        raw99,
        pct_ms(&list_lat, 0.5),
        pct_ms(&list_lat, 0.99),
        pct_ms(&count_lat, 0.5),
        pct_ms(&count_lat, 0.99),
    ));
    Ok(())
}

pub async fn run(srv: &Server, db: &Db, raw: &DatabaseConnection, size: &Size) -> Result<Scenario> {
    let mut s = Scenario::new("list_eligible");
    let loaded = load::grants(
        raw,
        &load::Grants {
            page: BENCH_PAGE,
            topic_key: TOPIC,
            psid_prefix: "l",
            n: size.list_grants,
            tokens: None,
            mixed_states: true,
            tags: true,
        },
    )
    .await?;
    s.notes.push(format!(
        "loaded {} grants (90% active, 10% consumed; tags seg-0..7 on everyone, vip on 10%) in {:.1} s",
        loaded.rows, loaded.seconds
    ));
    let stop = CancellationToken::new();
    let mut twin = twin::start(srv, stop.clone()).await?;
    let measured = async {
        measure(srv, &mut twin, raw, None, size.list_samples, &mut s).await?;
        measure(
            srv,
            &mut twin,
            raw,
            Some("vip"),
            size.list_samples / 2,
            &mut s,
        )
        .await
    }
    .await;
    stop.cancel();
    measured?;
    let now = crate::measure::now_ms();
    let plain = Sqls::new(None);
    let tagged = Sqls::new(Some("vip"));
    let mut first = Sqls::from_values(loaded.topic_id, now, None);
    first.extend([Value::from(0i64), Value::from(PAGE_SIZE + 1)]);
    let mut first_tag = Sqls::from_values(loaded.topic_id, now, Some("vip"));
    first_tag.extend([Value::from(0i64), Value::from(PAGE_SIZE + 1)]);
    for (name, sql, values) in [
        ("list (first page)", &plain.list, first),
        (
            "count (total_size)",
            &plain.count,
            Sqls::from_values(loaded.topic_id, now, None),
        ),
        ("list any_of vip (first page)", &tagged.list, first_tag),
    ] {
        s.explain
            .push(plans::explain(raw, db, name, sql, values).await?);
    }
    s.notes.push(
        "the diagnostic row serves the same Api and ledger on a listener with TCP_NODELAY: \
         app::start hands tonic its own TcpListenerStream, for which tonic ignores tcp_nodelay, \
         so a response of more than one segment can wait for the client's delayed ACK (Nagle)"
            .into(),
    );
    s.notes.push(
        "every page runs the COUNT(DISTINCT) for total_size over all the topic's active grants: \
         it grows with N while the keyset list statement does not"
            .into(),
    );
    Ok(s)
}
