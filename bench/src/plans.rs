//! Query plans: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite.

use anyhow::Result;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value};

use crate::env::Db;
use crate::report::Explain;

/// The plan of `sql` (with `$n` placeholders) bound to `values`.
pub(crate) async fn explain(
    raw: &DatabaseConnection,
    db: &Db,
    name: &str,
    sql: &str,
    values: Vec<Value>,
) -> Result<Explain> {
    let backend = raw.get_database_backend();
    let (prefix, column) = if db.is_postgres() {
        ("EXPLAIN (ANALYZE, BUFFERS) ", "QUERY PLAN")
    } else {
        ("EXPLAIN QUERY PLAN ", "detail")
    };
    let text = format!("{prefix}{sql}");
    let rows = raw
        .query_all_raw(Statement::from_sql_and_values(backend, text, values))
        .await?;
    let mut plan = Vec::with_capacity(rows.len());
    for r in rows {
        plan.push(r.try_get::<String>("", column)?);
    }
    let uses_index = plan.iter().any(|l| {
        l.contains("USING INDEX")
            || l.contains("USING COVERING INDEX")
            || l.contains("PRIMARY KEY")
            || l.contains("Index Scan")
            || l.contains("Index Only Scan")
    });
    let full_scans = plan
        .iter()
        .filter(|l| {
            let t = l.trim_start_matches([' ', '-', '>']);
            t.contains("Seq Scan") || (t.starts_with("SCAN ") && !t.contains("CONSTANT ROW"))
        })
        .map(|l| l.trim().to_string())
        .collect();
    Ok(Explain {
        query: name.to_string(),
        plan,
        uses_index,
        full_scans,
    })
}
