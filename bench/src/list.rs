//! `list_eligible`: ListEligible pages of 100 through gRPC beside the same statements run directly on the database, at N bulk-loaded grants; EXPLAIN of the hot queries.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use otn::v1::{ListEligibleRequest, TagFilter};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value};

use crate::Size;
use crate::env::{BENCH_PAGE, Db, Server};
use crate::load::{self, ACTIVE};
use crate::measure::pct_ms;
use crate::plans;
use crate::report::{Figure, Scenario};

pub(crate) const TOPIC: &str = "bench:list";
const PAGE_SIZE: i64 = 100;

/// The ListEligible statements as `store::eligible` builds them (no region filter; optional
/// `any_of` tag filter), written with `$n` placeholders (both backends accept them).
pub(crate) struct Sqls {
    pub list: String,
    pub count: String,
}

/// `$from, $from+1, …` for `n` values.
fn dollars(from: usize, n: usize) -> String {
    (from..from + n.max(1))
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Sqls {
    pub(crate) fn new(tag: Option<&str>) -> Self {
        let filter = match tag {
            Some(_) => {
                " AND EXISTS (SELECT 1 FROM recipient_tags x WHERE x.recipient_id = grants.recipient_id AND x.tag IN ($4))"
            }
            None => "",
        };
        let from = format!(
            " FROM grants WHERE grants.topic_id = $1 AND grants.state IN ($2) \
             AND (grants.expires_at IS NULL OR grants.expires_at > $3){filter}"
        );
        let next = if tag.is_some() { 5 } else { 4 };
        Sqls {
            list: format!(
                "SELECT DISTINCT grants.recipient_id{from} AND grants.recipient_id > ${next} \
                 ORDER BY grants.recipient_id LIMIT ${}",
                next + 1
            ),
            count: format!("SELECT COUNT(DISTINCT grants.recipient_id) AS n{from}"),
        }
    }

    fn people(n: usize) -> String {
        format!(
            "SELECT id, psid, region, last_interaction_at FROM recipients WHERE id IN ({}) ORDER BY id",
            dollars(1, n)
        )
    }

    fn tags(n: usize) -> String {
        format!(
            "SELECT recipient_id, tag FROM recipient_tags WHERE recipient_id IN ({}) \
             ORDER BY recipient_id, tag",
            dollars(1, n)
        )
    }

    fn grants(n: usize) -> String {
        format!(
            "SELECT grants.id, grants.page_id, grants.kind, grants.payload, grants.opted_in_at, \
             grants.expires_at, grants.state, grants.state_changed_at, grants.revoked_by, \
             recipients.psid, topics.topic_key FROM grants \
             JOIN recipients ON recipients.id = grants.recipient_id \
             JOIN topics ON topics.id = grants.topic_id \
             WHERE recipients.id IN ({}) AND grants.topic_id = ${} AND grants.state IN (${}) \
             AND (grants.expires_at IS NULL OR grants.expires_at > ${}) \
             ORDER BY recipients.id, grants.expires_at, grants.id",
            dollars(1, n),
            n + 1,
            n + 2,
            n + 3
        )
    }

    /// Values of the FROM/WHERE part.
    pub(crate) fn from_values(topic_id: i64, now: i64, tag: Option<&str>) -> Vec<Value> {
        let mut v: Vec<Value> = vec![topic_id.into(), ACTIVE.into(), now.into()];
        if let Some(t) = tag {
            v.push(t.into());
        }
        v
    }
}

fn stmt(raw: &DatabaseConnection, sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(raw.get_database_backend(), sql, values)
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
            "SELECT id FROM topics WHERE page_id = $1 AND topic_key = $2",
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
    for r in &rows {
        ids.push(r.try_get::<i64>("", "recipient_id")?);
    }
    let mut psids = Vec::with_capacity(rows.len());
    if !ids.is_empty() {
        let idv: Vec<Value> = ids.iter().map(|i| Value::from(*i)).collect();
        let people = raw
            .query_all_raw(stmt(raw, &Sqls::people(ids.len()), idv.clone()))
            .await?;
        for r in &people {
            psids.push(r.try_get::<String>("", "psid")?);
        }
        raw.query_all_raw(stmt(raw, &Sqls::tags(ids.len()), idv.clone()))
            .await?;
        let mut gv = idv;
        gv.extend([topic_id.into(), ACTIVE.into(), now.into()]);
        raw.query_all_raw(stmt(raw, &Sqls::grants(ids.len()), gv))
            .await?;
    }
    // The total is counted on the first page only and carried by the page token.
    let t = Instant::now();
    let total: i64 = match after {
        0 => match raw
            .query_one_raw(stmt(
                raw,
                &sqls.count,
                Sqls::from_values(topic_id, now, tag),
            ))
            .await?
        {
            Some(r) => r.try_get("", "n")?,
            None => 0,
        },
        _ => -1,
    };
    let count_time = t.elapsed();
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
    raw: &DatabaseConnection,
    tag: Option<&str>,
    samples: usize,
    s: &mut Scenario,
) -> Result<()> {
    let sqls = Sqls::new(tag);
    let mut client = srv.client();
    let (mut after, mut token) = (0i64, String::new());
    let (mut raw_lat, mut rpc_lat, mut list_lat) = (vec![], vec![], vec![]);
    let (mut first_raw, mut first_rpc, mut count_time) = Default::default();
    for i in 0..=samples {
        let t = Instant::now();
        let (psids, next, total, lt, ct) = raw_page(raw, &sqls, tag, after).await?;
        let raw_time = t.elapsed();
        let request = ListEligibleRequest {
            page_id: BENCH_PAGE.into(),
            topic_key: TOPIC.into(),
            tag_filter: tag.map(|t| TagFilter {
                any_of: vec![t.to_string()],
                ..Default::default()
            }),
            page_size: PAGE_SIZE as i32,
            page_token: token.clone(),
            include_total_size: after == 0,
            ..Default::default()
        };
        let t = Instant::now();
        let resp = client.list_eligible(request).await?.into_inner();
        // The first page (with total_size) is reported on its own; the rest are the keyset
        // statement alone, the figure that must stay flat in N.
        if i == 0 {
            (first_raw, first_rpc, count_time) = (raw_time, t.elapsed(), ct);
        } else {
            raw_lat.push(raw_time);
            rpc_lat.push(t.elapsed());
            list_lat.push(lt);
        }
        let got: Vec<String> = resp
            .recipients
            .iter()
            .filter_map(|e| e.recipient.as_ref().map(|r| r.psid.clone()))
            .collect();
        if got != psids || (total >= 0 && resp.total_size != total) {
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
    for v in [&mut raw_lat, &mut rpc_lat, &mut list_lat] {
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
        &format!("  first page with total_size ({what})"),
        "ms",
        first_rpc.as_secs_f64() * 1000.0,
        first_raw.as_secs_f64() * 1000.0,
        "same SQL, direct",
    ));
    s.notes.push(format!(
        "{what}: {samples} keyset pages after the first; of the direct p50/p99 ({:.2}/{:.2} ms), \
         the list statement takes {:.2}/{:.2} ms (the rest: the people, tags and grants of the \
         page, 3 statements); the first page's total_size COUNT took {:.2} ms",
        pct_ms(&raw_lat, 0.5),
        raw99,
        pct_ms(&list_lat, 0.5),
        pct_ms(&list_lat, 0.99),
        count_time.as_secs_f64() * 1000.0,
    ));
    Ok(())
}

pub(crate) async fn run(
    srv: &Server,
    db: &Db,
    raw: &DatabaseConnection,
    size: &Size,
) -> Result<Scenario> {
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
    measure(srv, raw, None, size.list_samples, &mut s).await?;
    measure(srv, raw, Some("vip"), size.list_samples / 2, &mut s).await?;
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
        "the total_size COUNT runs on the first page only (include_total_size), carried by the \
         page token after: later pages are the keyset statement alone"
            .into(),
    );
    Ok(s)
}
